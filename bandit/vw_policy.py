"""The Vowpal Wabbit contextual bandit policy.

Two ways to use Vowpal Wabbit: its own contextual-bandit exploration (`--cb_explore_adf` with
squarecb, epsilon, softmax, bag or cover), or `igw`: Vowpal Wabbit learns logistic models of
the play probability of each (context, artwork) (`--cb_adf --cb_type mtr`, the chosen artwork
only, without importance weights), and the policy explores by inverse gap weighting on its
log-odds (Foster & Rakhlin, "Beyond UCB", ICML 2020) with a greediness that grows with each
title's traffic, under a probability floor that adapts to that traffic too (see `AdaptiveFloor`).

By default `igw` learns the play as a funnel: P(play) = P(engaged) x P(play | engaged), one
model of whether the user engages with the artwork (a click, or any rewarded feedback) learned
from every decision, and one of the reward given engagement learned from the engaged ones.
Clicks are several times more frequent than plays and say much of the same about taste, so
the first model learns from several times the signal a model of the play alone gets.
"""
from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import vowpalwabbit
from vowpalwabbit.pyvw import pylibvw

from bandit.errors import InvalidPolicyError, SnapshotError
from bandit.exploration import DEFAULT_FLOOR, AdaptiveFloor, inverse_gap_weights
from bandit.features import ActionLineCache, FeatureSpace, with_label
from bandit.policy import Policy
from bandit.types import Action, Context, Decision

# Titles whose parsed action examples a policy keeps (see VWPolicy._action_examples).
ACTION_EXAMPLE_TITLES = 1024

EXPLORATIONS = ("epsilon", "softmax", "squarecb", "bag", "cover", "igw")
CB_TYPES = ("ips", "dr", "mtr", "dm", "sm")
# The cb_type of every exploration unless one is given.
DEFAULT_CB_TYPE = "mtr"
# What igw learns with unless told otherwise (chosen on the benchmark suite; docs/LEARNING.md):
# a faster learning rate than VW's own explorations use, and, besides user x artwork-feature
# crosses, user x artwork-id crosses (what this kind of user thinks of this very artwork).
IGW_LEARNING_RATE = 2.0
IGW_INTERACTIONS = ("ua", "ui")
_IGW_STATE = b"ARTBANDIT-VW-IGW 1\n"
_FUNNEL_STATE = b"ARTBANDIT-VW-IGW 2\n"  # the counts, then the engagement and the reward models


@dataclass(frozen=True)
class VWSettings:
    """Vowpal Wabbit settings, checked once; `args` turns them into a command line."""

    exploration: str = "squarecb"
    epsilon: float = 0.05
    softmax_lambda: float = 10.0
    gamma_scale: float = 100.0
    gamma_exponent: float = 0.25
    bag_size: int = 5
    cover_size: int = 5
    cb_type: str | None = None
    floor_min: float | None = None
    floor_ramp: int = 500
    learning_rate: float | None = None
    power_t: float = 0.5
    l2: float = 0.0
    funnel: bool | None = None  # igw: engagement x reward given engagement (the default for igw)
    bits: int = 20
    features: FeatureSpace | None = None
    extra_args: tuple[str, ...] = ()
    random_seed: int = 0

    def __post_init__(self) -> None:
        if self.exploration not in EXPLORATIONS:
            raise InvalidPolicyError(
                f"exploration {self.exploration!r} is unknown; choose one of {', '.join(EXPLORATIONS)}"
            )
        igw = self.exploration == "igw"
        # What is left unset takes the exploration's default (see IGW_DEFAULTS).
        if self.cb_type is None:
            object.__setattr__(self, "cb_type", DEFAULT_CB_TYPE)
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", IGW_LEARNING_RATE if igw else 0.5)
        if self.funnel is None:
            object.__setattr__(self, "funnel", igw)
        if self.funnel and not igw:
            raise InvalidPolicyError("funnel (an engagement and a reward model) needs exploration 'igw'")
        if self.features is None:
            object.__setattr__(self, "features", FeatureSpace(
                interactions=IGW_INTERACTIONS if igw else FeatureSpace().interactions))
        if self.cb_type not in CB_TYPES:
            raise InvalidPolicyError(f"cb_type {self.cb_type!r} is unknown; choose one of {', '.join(CB_TYPES)}")
        if self.exploration == "squarecb" and self.cb_type != "mtr":
            raise InvalidPolicyError(
                f"exploration 'squarecb' only works with cb_type 'mtr', not {self.cb_type!r}"
            )
        if self.exploration == "igw" and self.cb_type != "mtr":
            raise InvalidPolicyError(
                f"exploration 'igw' learns a reward model (cb_type 'mtr'), not {self.cb_type!r}")
        if self.floor_min is not None and self.exploration != "igw":
            raise InvalidPolicyError("floor_min (an adaptive floor) needs exploration 'igw'")
        if not self.gamma_exponent >= 0:
            raise InvalidPolicyError(f"gamma_exponent {self.gamma_exponent!r} must be >= 0")
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
        if self.exploration == "igw":
            # A logistic model of the play, learned on the chosen artwork only and without
            # importance weights (see _learn); the policy explores on its log-odds.
            args = ["--cb_adf", "--cb_type", "mtr", "--loss_function", "logistic", "--quiet"]
        else:
            args = ["--cb_explore_adf", "--cb_type", str(self.cb_type), "--quiet"]
        if self.exploration == "epsilon":
            args += ["--epsilon", str(self.epsilon)]
        elif self.exploration == "softmax":
            args += ["--softmax", "--lambda", str(self.softmax_lambda)]
        elif self.exploration == "squarecb":
            args += ["--squarecb", "--gamma_scale", str(self.gamma_scale)]
        elif self.exploration == "bag":
            args += ["--bag", str(int(self.bag_size)), "--epsilon", str(self.epsilon)]
        elif self.exploration == "cover":
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
        self.vw_settings = settings = settings or VWSettings()
        self.features = settings.features
        self._actions = ActionLineCache(self.features)
        self._igw = settings.exploration == "igw"
        self._last_user: tuple[Any, Any, str] = (None, None, "")
        # Decisions learned per title (igw): how greedy it is there, and its floor.
        self.title_counts: dict[str, int] = {}
        self._adaptive = (None if settings.floor_min is None
                          else AdaptiveFloor(self.floor, settings.floor_min, settings.floor_ramp))
        # Candidate tuple (by identity) -> (the actions, their parsed VW examples).
        self._parsed: OrderedDict[tuple[int, ...], tuple[tuple[Action, ...], list]] = OrderedDict()
        self._funnel = bool(settings.funnel)
        try:
            # The first model parses every example; the funnel's second has the same settings,
            # so it predicts on the first's parsed examples (the same hashed features).
            self._models = tuple(vowpalwabbit.Workspace(arg_list=self.vw_settings.args())
                                 for _ in range(2 if self._funnel else 1))
        except RuntimeError as exc:
            raise InvalidPolicyError(
                f"Vowpal Wabbit refused the settings {' '.join(self.vw_settings.args())}: {exc}"
            ) from None

    @property
    def _workspace(self) -> vowpalwabbit.Workspace | None:
        """The model that parses examples (the engagement model of a funnel)."""
        return self._models[0] if self._models else None

    def settings(self) -> dict[str, Any]:
        """The VW settings that must match a snapshot's (not the seed, nor what only explores)."""
        settings = self.vw_settings.to_dict()
        settings.pop("random_seed")
        if not settings["funnel"]:
            settings.pop("funnel")  # as written before the funnel existed
        if self._igw:  # exploration happens outside the model: any of these fits its weights
            for name in ("gamma_scale", "gamma_exponent", "floor_min", "floor_ramp", "epsilon",
                         "softmax_lambda", "bag_size", "cover_size"):
                settings.pop(name)
        return settings

    def example(self, context: Context, actions: Sequence[Action]) -> list[str]:
        """The unlabeled VW example text this policy predicts on."""
        return [self.features.shared_line(context)] + self._actions.lines(actions)

    # VW's own parser and learner, without the per-example Python wrappers that
    # Workspace.predict/learn build around them (the same work, a third less time).
    def _shared_line(self, context: Context) -> str:
        """The shared line; its user part is made once for the titles of one request."""
        features, affinity, user_part = self._last_user
        if features is not context.features or affinity is not context.genre_affinity:
            user_part = self.features.user_part(context.features, context.genre_affinity)
            # Held with the objects it was made from, so their ids cannot be reused meanwhile.
            self._last_user = (context.features, context.genre_affinity, user_part)
        return self.features.shared_line(context, user_part)

    def _scores(self, context: Context, actions: tuple[Action, ...]) -> list[list[float]]:
        """What each model predicts for the candidates: VW's pmf, or for igw the log-odds of no
        play (of no engagement and of no reward given engagement, for a funnel)."""
        ws = self._workspace
        shared = ws._parse(self._shared_line(context))
        examples = shared + self._action_examples(actions)
        try:
            out = []
            for model in self._models:
                pylibvw.vw.predict_multi(model, examples)
                out.append(examples[0].get_action_scores())
            return out
        finally:
            pylibvw.vw._finish_example_multi_ex(ws, shared)

    def _pmf(self, context: Context, actions: tuple[Action, ...]) -> Sequence[float]:
        scores = self._scores(context, actions)
        if not self._igw:
            return scores[0]  # VW's own exploration: already a pmf
        traffic = self.title_counts.get(context.title_id, 0)
        gamma = self.vw_settings.gamma_scale * (traffic + 1) ** self.vw_settings.gamma_exponent
        return inverse_gap_weights(play_log_odds(*scores), gamma)

    def _floor(self, context: Context) -> float:
        if self._adaptive is None:
            return self.floor
        return self._adaptive(self.title_counts.get(context.title_id, 0))

    @property
    def floor_min(self) -> float:
        """The lowest probability any candidate can get (where the adaptive floor stops)."""
        return self.floor if self._adaptive is None else self._adaptive.minimum

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
            self._release(oldest)
        return examples

    def _release(self, examples: list) -> None:
        """Hand kept action examples back to the workspace that parsed them.

        Only as the sequence VW expects, behind a shared example and after a prediction:
        finishing the bare action examples once the workspace has learned since they were
        parsed crashes Vowpal Wabbit (and dropping them unfinished leaks their memory).
        """
        ws = self._workspace
        sequence = ws._parse("shared |" + self.features.user_namespace) + examples
        pylibvw.vw.predict_multi(ws, sequence)
        pylibvw.vw._finish_example_multi_ex(ws, sequence)

    def _drop_parsed(self) -> None:
        """Hand every kept example back to the workspace that parsed it."""
        for _, examples in self._parsed.values():
            self._release(examples)
        self._parsed.clear()

    def _learn(self, context: Context, actions: tuple[Action, ...], decision: Decision, reward: float,
               engaged: bool | None) -> None:
        if not self._igw:
            # mtr weighs the chosen artwork's cost by 1 / probability.
            self._fit(self._models[0], context, actions, decision, reward, decision.probability)
            return
        self.title_counts[context.title_id] = self.title_counts.get(context.title_id, 0) + 1
        # The logistic models learn plays, as cost -1 (a play) or +1 (none): a reward in
        # (0, 1) counts as a play with that probability (unbiased), 1 or more as a play. They
        # fit the probability itself (they condition on the artwork), so at weight 1.
        play = 1.0 if self._rng.random() < reward else -1.0
        if not self._funnel:
            self._fit(self._models[0], context, actions, decision, play, 1.0)
            return
        # Any feedback that earns a reward comes from an engaged user, whatever was reported.
        engaged = bool(engaged) or reward != 0
        self._fit(self._models[0], context, actions, decision, 1.0 if engaged else -1.0, 1.0)
        if engaged:
            self._fit(self._models[1], context, actions, decision, play, 1.0)

    def _fit(self, model: vowpalwabbit.Workspace, context: Context, actions: tuple[Action, ...],
             decision: Decision, label: float, probability: float) -> None:
        """One update of `model`: the chosen candidate's reward `label`, logged at `probability`."""
        learn_example(model, with_label(self.example(context, actions), decision.chosen, label, probability))

    def _state(self) -> bytes:
        models = [model_bytes(model) for model in self._models]
        if not self._igw:
            return models[0]
        counts = json.dumps(self.title_counts, sort_keys=True).encode()
        if not self._funnel:
            return _IGW_STATE + struct.pack(">Q", len(counts)) + counts + models[0]
        return (_FUNNEL_STATE + struct.pack(">QQ", len(counts), len(models[0])) + counts
                + models[0] + models[1])

    def _restore(self, data: bytes) -> None:
        counts: dict[str, int] = {}
        parts = [data]
        if self._igw:
            counts, parts = _split_igw_state(data, self._funnel)
        models = []
        try:
            for part in parts:
                models.append(load_model(part))
        except Exception as exc:  # VW raises plain RuntimeError/Exception on a bad model
            for model in models:
                model.finish()
            raise SnapshotError(
                f"Vowpal Wabbit could not read the model ({len(data)} bytes): {exc}; "
                "load a snapshot written by a VWPolicy"
            ) from None
        self._drop_parsed()
        old, self._models = self._models, tuple(models)
        for model in old:
            model.finish()
        self.title_counts = counts

    def close(self) -> None:
        """Release the VW workspace (once; deciding afterwards is an error, not a crash)."""
        with self._lock:
            if self._workspace is None:
                return
            self._drop_parsed()
            for model in self._models:
                model.finish()
            self._models = ()


def learn_example(workspace: vowpalwabbit.Workspace, lines: Sequence[str]) -> None:
    """One update of `workspace` from a labelled multi-line example, through VW's own parser
    and learner (without the per-example Python wrappers of Workspace.learn)."""
    examples = workspace._parse("\n".join(lines))
    try:
        pylibvw.vw.learn_multi(workspace, examples)
    finally:
        pylibvw.vw._finish_example_multi_ex(workspace, examples)


def model_bytes(workspace: vowpalwabbit.Workspace) -> bytes:
    """A Vowpal Wabbit workspace's model as bytes (what `load_model` reads back)."""
    with tempfile.TemporaryDirectory(prefix="vw-model-") as tmp:
        path = os.path.join(tmp, "model.vw")
        workspace.save(path)
        with open(path, "rb") as f:
            return f.read()


def load_model(data: bytes) -> vowpalwabbit.Workspace:
    """A Vowpal Wabbit workspace from model bytes; raises what Vowpal Wabbit raises on a bad model."""
    with tempfile.TemporaryDirectory(prefix="vw-model-") as tmp:
        path = os.path.join(tmp, "model.vw")
        with open(path, "wb") as f:
            f.write(data)
        return vowpalwabbit.Workspace(arg_list=["--quiet", "-i", path])


def play_log_odds(*scores: Sequence[float]) -> list[float]:
    """The log-odds of a play per candidate from the igw models' scores (log-odds of no play;
    for a funnel, of no engagement and of no reward given engagement: P = P(e) x P(r | e))."""
    if len(scores) == 1:
        return [-s for s in scores[0]]
    out = []
    # With e^a and e^b the odds against engagement and against reward, P = 1 / ((1 + e^a)(1 + e^b)),
    # so the log-odds of a play are -log(e^a + e^b + e^(a + b)).
    for a, b in zip(*scores):
        if -700.0 < a < 300.0 and -700.0 < b < 300.0:  # no overflow, no underflow to 0
            ea, eb = math.exp(a), math.exp(b)
            out.append(-math.log(ea + eb + ea * eb))
        else:
            top = max(a, b, a + b)
            out.append(-(top + math.log(math.exp(a - top) + math.exp(b - top) + math.exp(a + b - top))))
    return out


def _split_igw_state(data: bytes, funnel: bool) -> tuple[dict[str, int], list[bytes]]:
    """The per-title counts at the head of an igw state, and the VW models that follow them."""
    magic, lengths = (_FUNNEL_STATE, 2) if funnel else (_IGW_STATE, 1)
    head = len(magic) + 8 * lengths
    if not data.startswith(magic) or len(data) < head:
        kind = "an igw VWPolicy with a funnel" if funnel else "an igw VWPolicy without a funnel"
        raise SnapshotError(f"not the state of {kind}; load a snapshot written by one")
    size, *first = struct.unpack(f">{lengths}Q", data[len(magic):head])
    try:
        counts = {str(k): int(v) for k, v in json.loads(data[head:head + size]).items()}
    except (ValueError, AttributeError, TypeError) as exc:
        raise SnapshotError(f"the per-title counts of an igw state are damaged ({exc})") from None
    rest = data[head + size:]
    if not first:
        return counts, [rest]
    if not 0 < first[0] < len(rest):
        raise SnapshotError("the models of an igw state are damaged (their lengths do not add up)")
    return counts, [rest[:first[0]], rest[first[0]:]]
