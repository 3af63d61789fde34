"""The Vowpal Wabbit contextual bandit policy (``--cb_explore_adf``)."""
from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import vowpalwabbit
from vowpalwabbit.pyvw import pylibvw

from bandit.errors import InvalidPolicyError, SnapshotError
from bandit.exploration import DEFAULT_FLOOR
from bandit.features import ActionLineCache, FeatureSpace, with_label
from bandit.policy import Policy
from bandit.types import Action, Context, Decision

# Titles whose parsed action examples a policy keeps (see VWPolicy._action_examples).
ACTION_EXAMPLE_TITLES = 1024

EXPLORATIONS = ("epsilon", "softmax", "squarecb", "bag", "cover")
CB_TYPES = ("ips", "dr", "mtr", "dm", "sm")


@dataclass(frozen=True)
class VWSettings:
    """Vowpal Wabbit settings, checked once; `args` turns them into a command line."""

    exploration: str = "squarecb"
    epsilon: float = 0.05
    softmax_lambda: float = 10.0
    gamma_scale: float = 100.0
    bag_size: int = 5
    cover_size: int = 5
    cb_type: str = "mtr"
    learning_rate: float = 0.5
    power_t: float = 0.5
    l2: float = 0.0
    bits: int = 20
    features: FeatureSpace = field(default_factory=FeatureSpace)
    extra_args: tuple[str, ...] = ()
    random_seed: int = 0

    def __post_init__(self) -> None:
        if self.exploration not in EXPLORATIONS:
            raise InvalidPolicyError(
                f"exploration {self.exploration!r} is unknown; choose one of {', '.join(EXPLORATIONS)}"
            )
        if self.cb_type not in CB_TYPES:
            raise InvalidPolicyError(f"cb_type {self.cb_type!r} is unknown; choose one of {', '.join(CB_TYPES)}")
        if self.exploration == "squarecb" and self.cb_type != "mtr":
            raise InvalidPolicyError(
                f"exploration 'squarecb' only works with cb_type 'mtr', not {self.cb_type!r}"
            )
        if not 0.0 <= self.epsilon <= 1.0:
            raise InvalidPolicyError(f"epsilon {self.epsilon!r} must be in [0, 1]; use e.g. 0.05")
        for name in ("softmax_lambda", "gamma_scale", "learning_rate"):
            if not getattr(self, name) > 0:
                raise InvalidPolicyError(f"{name} {getattr(self, name)!r} must be positive")
        for name in ("bag_size", "cover_size"):
            if int(getattr(self, name)) < 1:
                raise InvalidPolicyError(f"{name} {getattr(self, name)!r} must be at least 1")
        if not 1 <= int(self.bits) <= 30:
            raise InvalidPolicyError(f"bits {self.bits!r} must be between 1 and 30; use e.g. 20")
        if isinstance(self.extra_args, str):
            raise InvalidPolicyError("extra_args must be a tuple of tokens, e.g. ('--l1', '1e-8')")

    def args(self) -> list[str]:
        """The VW command line as a token list."""
        args = ["--cb_explore_adf", "--cb_type", self.cb_type, "--quiet"]
        if self.exploration == "epsilon":
            args += ["--epsilon", str(self.epsilon)]
        elif self.exploration == "softmax":
            args += ["--softmax", "--lambda", str(self.softmax_lambda)]
        elif self.exploration == "squarecb":
            args += ["--squarecb", "--gamma_scale", str(self.gamma_scale)]
        elif self.exploration == "bag":
            args += ["--bag", str(int(self.bag_size)), "--epsilon", str(self.epsilon)]
        else:
            args += ["--cover", str(int(self.cover_size)), "--epsilon", str(self.epsilon)]
        args += ["-l", str(self.learning_rate), "--power_t", str(self.power_t), "-b", str(int(self.bits))]
        if self.l2:
            args += ["--l2", str(self.l2)]
        args += ["--random_seed", str(int(self.random_seed))]
        args += self.features.vw_args()
        return args + list(self.extra_args)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready settings (stored in snapshot headers)."""
        data = asdict(self)
        data["features"]["interactions"] = list(self.features.interactions)
        data["extra_args"] = list(self.extra_args)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VWSettings":
        """Settings from `to_dict` output."""
        data = dict(data)
        feats = dict(data.pop("features", {}))
        feats["interactions"] = tuple(feats.get("interactions", FeatureSpace().interactions))
        data["extra_args"] = tuple(data.get("extra_args", ()))
        return cls(features=FeatureSpace(**feats), **data)


class VWPolicy(Policy):
    """Contextual bandit on Vowpal Wabbit ``--cb_explore_adf``: each artwork described by its features.

    The workspace is not thread-safe; the base class lock guards it, so one object can serve
    many threads. Choices are sampled by our own seeded generator from VW's pmf after the floor.
    """

    kind = "vw"

    def __init__(
        self,
        settings: VWSettings | None = None,
        *,
        name: str = "vw",
        floor: float = DEFAULT_FLOOR,
        seed: int | None = 0,
    ) -> None:
        super().__init__(name=name, floor=floor, seed=seed)
        self.vw_settings = settings or VWSettings()
        self.features = self.vw_settings.features
        self._actions = ActionLineCache(self.features)
        # Candidate tuple (by identity) -> (the actions, their parsed VW examples).
        self._parsed: OrderedDict[tuple[int, ...], tuple[tuple[Action, ...], list]] = OrderedDict()
        try:
            self._workspace = vowpalwabbit.Workspace(arg_list=self.vw_settings.args())
        except RuntimeError as exc:
            raise InvalidPolicyError(
                f"Vowpal Wabbit refused the settings {' '.join(self.vw_settings.args())}: {exc}"
            ) from None

    def settings(self) -> dict[str, Any]:
        """The VW settings that must match a snapshot's (the random seed need not)."""
        settings = self.vw_settings.to_dict()
        settings.pop("random_seed")
        return settings

    def example(self, context: Context, actions: Sequence[Action]) -> list[str]:
        """The unlabeled VW example text this policy predicts on."""
        return [self.features.shared_line(context)] + self._actions.lines(actions)

    # VW's own parser and learner, without the per-example Python wrappers that
    # Workspace.predict/learn build around them (the same work, a third less time).
    def _pmf(self, context: Context, actions: tuple[Action, ...]) -> Sequence[float]:
        ws = self._workspace
        shared = ws._parse(self.features.shared_line(context))
        examples = shared + self._action_examples(actions)
        try:
            pylibvw.vw.predict_multi(ws, examples)
            return examples[0].get_action_scores()
        finally:
            pylibvw.vw._finish_example_multi_ex(ws, shared)

    def _action_examples(self, actions: tuple[Action, ...]) -> list:
        """The candidates' parsed examples, kept from one prediction to the next.

        A title's candidates repeat on every request while the user context changes, and
        parsing their lines is most of a prediction's cost. Prediction leaves the action
        examples as it found them (VW adds the shared features for the call and takes them
        out again), so they can be reused; tests check the pmf against a fresh parse. The
        entry holds the actions, so the ids in its key cannot be reused by other objects.
        """
        key = tuple(map(id, actions))
        entry = self._parsed.get(key)
        if entry is not None:
            self._parsed.move_to_end(key)
            return entry[1]
        examples = self._workspace._parse("\n".join(self._actions.lines(actions)))
        self._parsed[key] = (actions, examples)
        while len(self._parsed) > ACTION_EXAMPLE_TITLES:
            _, (_, oldest) = self._parsed.popitem(last=False)
            pylibvw.vw._finish_example_multi_ex(self._workspace, oldest)
        return examples

    def _drop_parsed(self) -> None:
        """Hand every kept example back to the workspace that parsed it."""
        for _, examples in self._parsed.values():
            pylibvw.vw._finish_example_multi_ex(self._workspace, examples)
        self._parsed.clear()

    def _learn(self, context: Context, actions: tuple[Action, ...], decision: Decision, reward: float) -> None:
        lines = with_label(self.example(context, actions), decision.chosen, reward,
                           decision.probability)
        ws = self._workspace
        examples = ws._parse("\n".join(lines))
        try:
            pylibvw.vw.learn_multi(ws, examples)
        finally:
            pylibvw.vw._finish_example_multi_ex(ws, examples)

    def _state(self) -> bytes:
        with tempfile.TemporaryDirectory(prefix="vw-state-") as tmp:
            path = os.path.join(tmp, "model.vw")
            self._workspace.save(path)
            with open(path, "rb") as f:
                return f.read()

    def _restore(self, data: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="vw-state-") as tmp:
            path = os.path.join(tmp, "model.vw")
            with open(path, "wb") as f:
                f.write(data)
            try:
                workspace = vowpalwabbit.Workspace(arg_list=["--quiet", "-i", path])
            except Exception as exc:  # VW raises plain RuntimeError/Exception on a bad model
                raise SnapshotError(
                    f"Vowpal Wabbit could not read the model ({len(data)} bytes): {exc}; "
                    "load a snapshot written by a VWPolicy"
                ) from None
        self._drop_parsed()
        old, self._workspace = self._workspace, workspace
        old.finish()

    def close(self) -> None:
        """Release the VW workspace."""
        with self._lock:
            self._drop_parsed()
            self._workspace.finish()
