"""Policy specs: short strings such as `uniform`, `egreedy:0.1` or `vw:squarecb`, parsed and built."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from bandit.baselines import DefaultArtworkPolicy, EpsilonGreedyPolicy, ThompsonPolicy, UniformPolicy
from bandit.errors import BanditError, PolicySpecError
from bandit.policy import Policy
from bandit.snapshots import load_file
from bandit.vw_policy import EXPLORATIONS, VWPolicy, VWSettings

__all__ = ["KINDS", "PolicySpec", "SpecKind", "parse_policy_spec", "parse_policy_specs"]

_COMMON = {"floor": float, "seed": int}


@dataclass(frozen=True)
class SpecKind:
    """What one kind of spec accepts: its parameters, and what a bare first parameter sets."""

    learns: bool
    bare: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    # The whole text after the colon is one value (a file path, which may hold commas).
    raw: bool = False
    # Whether its choices depend on the context (the user, the title, the features).
    contextual: bool = True


_VW_PARAMS = {f.name: f.type for f in dataclasses.fields(VWSettings)
              if f.name not in ("features", "extra_args")}
KINDS: Mapping[str, SpecKind] = {
    "uniform": SpecKind(False, None, _COMMON, contextual=False),
    "default": SpecKind(False, "epsilon", {**_COMMON, "epsilon": float}, contextual=False),
    "egreedy": SpecKind(True, "epsilon", {**_COMMON, "epsilon": float}),
    "thompson": SpecKind(True, "grid", {**_COMMON, "grid": int}),
    # `model=PATH` loads a snapshot file: the policy is then evaluated as it stands, not learned.
    "vw": SpecKind(True, "exploration", {**_COMMON, **_VW_PARAMS, "model": str}),
}
_EXAMPLES = "uniform, default, default:0.05, thompson, egreedy:0.1, vw:squarecb, vw:epsilon=0.05"


@dataclass(frozen=True)
class PolicySpec:
    """A parsed policy spec: its kind and parameters; `build` makes the policy."""

    text: str
    kind: str
    params: tuple[tuple[str, Any], ...] = ()
    learns: bool = False
    contextual: bool = True

    @property
    def name(self) -> str:
        """The name reports use: the spec as written."""
        return self.text

    def param(self, key: str, default: Any = None) -> Any:
        """One parameter's value, or `default` when the spec does not set it."""
        return dict(self.params).get(key, default)

    def with_params(self, **params: Any) -> "PolicySpec":
        """The same spec with some parameters set (the text, and so the name, unchanged)."""
        merged = {**dict(self.params), **params}
        return dataclasses.replace(self, params=tuple(merged.items()))

    @property
    def policy_name(self) -> str:
        """The name a policy built from this spec takes unless given one (names snapshot files)."""
        return _policy_name(self.text)

    def build(self, seed: int = 0, name: str | None = None) -> Policy:
        """A fresh policy for this spec (named `name`, else after the spec)."""
        params = dict(self.params)
        seed = int(params.pop("seed", seed))
        name = name or self.policy_name
        try:
            if self.kind == "uniform":
                return UniformPolicy(name=name, seed=seed, **params)
            if self.kind == "default":
                return DefaultArtworkPolicy(name=name, seed=seed, **params)
            if self.kind == "egreedy":
                return EpsilonGreedyPolicy(name=name, seed=seed, **params)
            if self.kind == "thompson":
                return ThompsonPolicy(name=name, seed=seed, **params)
            if self.kind == "vw":
                floor = params.pop("floor", None)
                model = params.pop("model", None)
                settings = VWSettings(random_seed=seed, **params)
                extra = {} if floor is None else {"floor": floor}
                policy = VWPolicy(settings, name=name, seed=seed, **extra)
                if model is not None:
                    load_file(policy, model)
                return policy
        except PolicySpecError:
            raise
        except (BanditError, TypeError) as exc:
            raise PolicySpecError(f"policy spec {self.text!r}: {exc}") from None
        raise PolicySpecError(f"policy spec {self.text!r} is not a bandit policy; it cannot be built")


def _policy_name(text: str) -> str:
    # Policy names name snapshot files, so keep them to letters, digits, '.', '_' and '-'.
    text = text.replace(":", "-").replace(",", "_").replace("=", "")
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


_FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _convert(text: str, key: str, value: str, kind_type: Any) -> Any:
    if isinstance(kind_type, str):  # an annotation as written, e.g. "float | None"
        kind_type = kind_type.removesuffix(" | None")
    if kind_type in ("bool", bool):
        flag = _FLAGS.get(value.lower())
        if flag is None:
            raise PolicySpecError(f"policy spec {text!r}: {key}={value!r} is not true or false")
        return flag
    target = {int: int, float: float, "int": int, "float": float}.get(kind_type, str)
    try:
        return target(value)
    except ValueError:
        raise PolicySpecError(
            f"policy spec {text!r}: {key}={value!r} is not a"
            f"{'n integer' if target is int else ' number'}") from None


def parse_policy_spec(text: str, kinds: Mapping[str, SpecKind] = KINDS,
                      examples: str = _EXAMPLES) -> PolicySpec:
    """Parse `kind[:param][,key=value...]`; raises PolicySpecError naming the spec and the fault.

    `kinds` lets a caller (the simulator) accept kinds of its own beside the bandit's.
    """
    raw_text = text
    text = text.strip()
    if not text:
        raise PolicySpecError(f"empty policy spec; use one of: {examples}")
    # The kind ends at the first ':' (a bare parameter follows) or ',' (named ones follow).
    kind_name, sep, rest = re.match(r"([^:,]*)([:,]?)(.*)", text, re.DOTALL).groups()
    kind_name = kind_name.strip().lower()
    kind = kinds.get(kind_name)
    if kind is None:
        raise PolicySpecError(
            f"policy spec {raw_text!r}: unknown policy {kind_name!r}; use one of: {examples}")
    if kind.raw:
        if sep != ":" or not rest.strip():
            raise PolicySpecError(f"policy spec {raw_text!r}: {kind_name} needs its {kind.bare}")
        return PolicySpec(text, kind_name, ((kind.bare, rest.strip()),), kind.learns, kind.contextual)
    params: dict[str, Any] = {}
    items = [item.strip() for item in rest.split(",")] if rest.strip() else []
    for position, item in enumerate(items):
        if not item:
            raise PolicySpecError(f"policy spec {raw_text!r}: empty parameter; write e.g. egreedy:0.1")
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq:
            if position != 0 or kind.bare is None or sep != ":":
                raise PolicySpecError(
                    f"policy spec {raw_text!r}: {key!r} needs a name, e.g. floor=0.01"
                    if kind.bare else f"policy spec {raw_text!r}: {kind_name} takes no bare "
                    "parameter; write key=value (floor=0.01)")
            key, value = kind.bare, key
        if key not in kind.params:
            raise PolicySpecError(
                f"policy spec {raw_text!r}: unknown parameter {key!r} for {kind_name}; "
                f"known: {', '.join(sorted(kind.params)) or 'none'}")
        params[key] = _convert(raw_text, key, value.strip(), kind.params[key])
    if kind_name == "vw":
        if "exploration" in params and params["exploration"] not in EXPLORATIONS:
            raise PolicySpecError(
                f"policy spec {raw_text!r}: exploration {params['exploration']!r} is unknown; "
                f"use one of {', '.join(EXPLORATIONS)}")
        if "epsilon" in params:
            params.setdefault("exploration", "epsilon")
    # A VW policy loaded from a snapshot is evaluated as it stands (a fixed policy).
    learns = kind.learns and not (kind_name == "vw" and "model" in params)
    return PolicySpec(text, kind_name, tuple(params.items()), learns, kind.contextual)


def parse_policy_specs(texts: list[str] | tuple[str, ...], kinds: Mapping[str, SpecKind] = KINDS,
                       examples: str = _EXAMPLES) -> list[PolicySpec]:
    """Parse several specs; names must be distinct and there must be at least one."""
    specs = [parse_policy_spec(t, kinds, examples) for t in texts]
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise PolicySpecError(f"policy spec {spec.name!r} is given twice; give each policy once")
        seen.add(spec.name)
    if not specs:
        raise PolicySpecError(f"no policy given; use one of: {examples}")
    return specs
