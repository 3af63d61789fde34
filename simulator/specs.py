"""Policy specs: short strings such as `uniform`, `egreedy:0.1`, `vw:squarecb` or `file:probs.csv`."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bandit.baselines import DefaultArtworkPolicy, EpsilonGreedyPolicy, ThompsonPolicy, UniformPolicy
from bandit.errors import BanditError
from bandit.policy import Policy
from bandit.vw_policy import EXPLORATIONS, VWPolicy, VWSettings

from simulator.errors import PolicySpecError

__all__ = ["KINDS", "PolicySpec", "parse_policy_spec", "parse_policy_specs"]

# kind -> (learns online, what the spec's bare first parameter sets)
KINDS: dict[str, tuple[bool, str | None]] = {
    "uniform": (False, None),
    "default": (False, "epsilon"),
    "egreedy": (True, "epsilon"),
    "thompson": (True, "grid"),
    "vw": (True, "exploration"),
    "file": (False, "path"),
    "logged": (False, None),
}
_COMMON = {"floor": float, "seed": int}
_BASELINE_PARAMS = {
    "default": {"epsilon": float},
    "egreedy": {"epsilon": float},
    "thompson": {"grid": int},
}
_VW_PARAMS = {f.name: f.type for f in dataclasses.fields(VWSettings) if f.name not in ("features", "extra_args")}
_EXAMPLES = "uniform, default, default:0.05, thompson, egreedy:0.1, vw:squarecb, vw:epsilon=0.05, file:probs.csv, logged"


@dataclass(frozen=True)
class PolicySpec:
    """A parsed policy spec: its kind and parameters; `build` makes the policy."""

    text: str
    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        """The name reports use: the spec as written."""
        return self.text

    @property
    def learns(self) -> bool:
        """Whether the policy learns online (replayed through the log) rather than evaluated by its pmf."""
        return KINDS[self.kind][0]

    @property
    def path(self) -> Path | None:
        """The probability file of a `file:` spec."""
        return Path(dict(self.params)["path"]) if self.kind == "file" else None

    def build(self, seed: int = 0) -> Policy:
        """A fresh bandit policy for this spec (not for `file:` or `logged`, which are not bandit policies)."""
        params = dict(self.params)
        seed = int(params.pop("seed", seed))
        name = _policy_name(self.text)
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
                settings = VWSettings(random_seed=seed, **params)
                extra = {} if floor is None else {"floor": floor}
                return VWPolicy(settings, name=name, seed=seed, **extra)
        except (BanditError, TypeError) as exc:
            raise PolicySpecError(f"policy spec {self.text!r}: {exc}") from None
        raise PolicySpecError(f"policy spec {self.text!r} is not a bandit policy; it cannot be built")


def _policy_name(text: str) -> str:
    # Policy names name snapshot files, so keep them to letters, digits, '.', '_' and '-'.
    text = text.replace(":", "-").replace(",", "_").replace("=", "")
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


def _convert(text: str, key: str, value: str, kind_type: Any) -> Any:
    target = {int: int, float: float, "int": int, "float": float}.get(kind_type, str)
    try:
        return target(value)
    except ValueError:
        raise PolicySpecError(
            f"policy spec {text!r}: {key}={value!r} is not a{'n integer' if target is int else ' number'}") from None


def parse_policy_spec(text: str) -> PolicySpec:
    """Parse `kind[:param][,key=value...]`; raises PolicySpecError naming the spec and the fix."""
    raw = text
    text = text.strip()
    if not text:
        raise PolicySpecError(f"empty policy spec; use one of: {_EXAMPLES}")
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise PolicySpecError(f"policy spec {raw!r}: unknown policy {kind!r}; use one of: {_EXAMPLES}")
    if kind == "file":
        if not rest.strip():
            raise PolicySpecError(f"policy spec {raw!r}: name the probability file, e.g. file:probs.csv")
        return PolicySpec(text, kind, (("path", rest.strip()),))
    allowed: dict[str, Any] = dict(_COMMON)
    if kind == "vw":
        allowed.update(_VW_PARAMS)
    else:
        allowed.update(_BASELINE_PARAMS.get(kind, {}))
    params: dict[str, Any] = {}
    items = [item.strip() for item in rest.split(",")] if rest.strip() else []
    for position, item in enumerate(items):
        if not item:
            raise PolicySpecError(f"policy spec {raw!r}: empty parameter; write e.g. egreedy:0.1")
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq:
            key, value = _bare(raw, kind, key, position)
        if key not in allowed:
            raise PolicySpecError(
                f"policy spec {raw!r}: unknown parameter {key!r} for {kind}; "
                f"known: {', '.join(sorted(allowed)) or 'none'}")
        params[key] = _convert(raw, key, value.strip(), allowed[key])
    if kind == "vw":
        if "exploration" in params and params["exploration"] not in EXPLORATIONS:
            raise PolicySpecError(
                f"policy spec {raw!r}: exploration {params['exploration']!r} is unknown; "
                f"use one of {', '.join(EXPLORATIONS)}")
        if "epsilon" in params:
            params.setdefault("exploration", "epsilon")
    return PolicySpec(text, kind, tuple(params.items()))


def _bare(raw: str, kind: str, value: str, position: int) -> tuple[str, str]:
    """A parameter written without `key=`: the kind's first parameter, or a VW exploration name."""
    first = KINDS[kind][1]
    if position != 0 or first is None:
        raise PolicySpecError(
            f"policy spec {raw!r}: {value!r} needs a name, e.g. floor=0.01"
            if first else f"policy spec {raw!r}: {kind} takes no bare parameter; write key=value (floor=0.01)")
    return first, value


def parse_policy_specs(texts: list[str] | tuple[str, ...]) -> list[PolicySpec]:
    """Parse several specs; names must be distinct."""
    specs = [parse_policy_spec(t) for t in texts]
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise PolicySpecError(f"policy spec {spec.name!r} is given twice; give each policy once")
        seen.add(spec.name)
    if not specs:
        raise PolicySpecError(f"no policy to evaluate; pass --policy SPEC (e.g. {_EXAMPLES})")
    return specs
