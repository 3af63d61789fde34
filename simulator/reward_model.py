"""The reward model behind the direct method and doubly robust: Vowpal Wabbit, cross-fitted and calibrated.

For every logged row it predicts the reward of each candidate, q(x, a):

- **cross-fitted**: the rows are split into folds, and a row's candidates are predicted by a
  model fitted on the other folds only, so a model never grades its own homework;
- **the right link**: a logistic model when rewards are 0/1 (predicted probabilities, never
  clamped to the labels seen), squared loss otherwise (kept inside the reward range);
- **able to use the context when artworks have no features** (a foreign log): the user's
  context is crossed with the artwork's features and with the artwork's id (`ua`, `ui`), so
  each action gets a model of its own;
- **calibrated in the large**: one shift of every prediction (on the log-odds for 0/1
  rewards) makes the mean prediction of the logged actions equal their mean reward;
- optionally **refitted on bootstrap resamples** of the rows, which the direct method's
  interval needs (a model fixed once gives intervals that are far too narrow).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping, Sequence

import numpy as np
import vowpalwabbit
from tqdm import tqdm
from vowpalwabbit.pyvw import pylibvw

from bandit.features import FeatureSpace, with_label
from bandit.types import Action
from bandit.vw_policy import learn_example, load_model, model_bytes

from simulator.errors import InvalidEstimatorError
from simulator.logs import BanditRows, LoggedFeedback

__all__ = ["FittedRewardModel", "RewardEstimates", "RewardModel"]


@dataclass(frozen=True, eq=False)
class RewardEstimates:
    """Predicted rewards of every candidate of every logged row, shape (n_rounds, max_candidates).

    `replicates` holds, per bootstrap refit, the resampled rows and the refitted model's
    predictions for every row.
    """

    predicted: np.ndarray
    replicates: tuple[tuple[np.ndarray, np.ndarray], ...] = ()


@dataclass(frozen=True)
class RewardModel:
    """Vowpal Wabbit regression of the reward on context x artwork features and ids, cross-fitted."""

    folds: int = 2
    passes: int = 4
    learning_rate: float = 1.0
    bits: int = 20
    features: FeatureSpace = field(default_factory=lambda: FeatureSpace(interactions=("ua", "ui")))
    seed: int = 0

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise InvalidEstimatorError(f"reward model: folds {self.folds!r} must be at least 2 (cross-fitting)")
        if self.passes < 1:
            raise InvalidEstimatorError(f"reward model: passes {self.passes!r} must be at least 1")
        if not self.learning_rate > 0:
            raise InvalidEstimatorError(f"reward model: learning_rate {self.learning_rate!r} must be positive")
        if not 1 <= self.bits <= 30:
            raise InvalidEstimatorError(f"reward model: bits {self.bits!r} must be between 1 and 30")

    def fit(self, log: LoggedFeedback, catalog: Mapping[str, Action] | None = None, *,
            bootstrap: int = 0, progress: bool = False) -> RewardEstimates:
        """Cross-fitted, calibrated predictions for every candidate, and `bootstrap` refits."""
        if bootstrap < 0:
            raise InvalidEstimatorError(f"reward model: bootstrap {bootstrap!r} must be >= 0")
        examples = _Examples(log, catalog, self.features)
        binary = _binary(log)
        predicted, _ = self._cross_fit(examples, binary, progress)
        replicates = []
        rng = self._stream(log.n_rounds, self.folds)[1]
        for _ in tqdm(range(bootstrap), desc="reward model refits", disable=not progress, leave=False):
            rows = rng.integers(0, log.n_rounds, log.n_rounds)
            model = self._train(examples, rows, binary, rng)
            scores, firsts, inverse = _distinct_scores(model, examples, np.arange(log.n_rounds))
            model.finish()
            refit_shift = _calibration(scores[inverse[rows], log.action[rows]], log.reward[rows], binary)
            replicates.append((rows, _rewards_per_row(scores, firsts, inverse, refit_shift, log.candidates,
                                                      binary, *_range(log))))
        return RewardEstimates(predicted, tuple(replicates))

    # Cross-fitted predictions for a log's rows, and a model fitted on all of them for other
    # rows (the rest of a larger log of which `log` is a sample: it was not fitted on them, so
    # a doubly robust estimate stays unbiased there), in steps that do not depend on each
    # other's results, so a cluster runs them side by side: each fold's scores, the model of
    # the whole log, then `for_other_rows`. Each step rebuilds the random stream that `fit`,
    # going fold after fold, has at that point, so the results are the same either way.

    def fold_scores(self, log: LoggedFeedback, catalog: Mapping[str, Action] | None,
                    k: int) -> tuple[np.ndarray, np.ndarray]:
        """Fold `k`'s rows and their raw scores from the model trained on the other folds."""
        return self._fold_scores(_Examples(log, catalog, self.features), _binary(log), k)

    def whole_model(self, log: LoggedFeedback, catalog: Mapping[str, Action] | None) -> bytes:
        """The model trained on every row of the log (to predict rows outside it)."""
        workspace = self._train(_Examples(log, catalog, self.features), np.arange(log.n_rounds), _binary(log),
                                self._stream(log.n_rounds, self.folds)[1])
        try:
            return model_bytes(workspace)
        finally:
            workspace.finish()

    def for_other_rows(self, log: LoggedFeedback, folds: Sequence[tuple[np.ndarray, np.ndarray]],
                       model: bytes) -> tuple[RewardEstimates, "FittedRewardModel"]:
        """The log's cross-fitted predictions from its folds' scores, and the whole model with their calibration."""
        binary = _binary(log)
        predicted, shift = self._calibrated(log, folds, binary)
        low, high = _range(log)
        return RewardEstimates(predicted), FittedRewardModel(model, shift, binary, low, high, self.features)

    def _stream(self, n: int, trained: int) -> tuple[np.ndarray, np.random.Generator]:
        """Each of `n` rows' fold (the seed's first draw), and the seed's random stream as one
        process, fitting fold after fold, has it once the first `trained` folds' models are
        trained (each of their passes after the first shuffles its rows)."""
        rng = np.random.default_rng(self.seed)
        fold = rng.permutation(n) % self.folds
        for k in range(trained):
            rows = np.flatnonzero(fold != k)
            for _ in range(self.passes - 1):
                rng.permutation(rows)
        return fold, rng

    def _fold_scores(self, examples: "_Examples", binary: bool, k: int) -> tuple[np.ndarray, np.ndarray]:
        log = examples.log
        fold, rng = self._stream(log.n_rounds, k)
        model = self._train(examples, np.flatnonzero(fold != k), binary, rng)
        rows = np.flatnonzero(fold == k)
        try:
            return rows, _predict(model, examples, rows)
        finally:
            model.finish()

    def _cross_fit(self, examples: "_Examples", binary: bool, progress: bool) -> tuple[np.ndarray, float]:
        """Every row's predictions from the model of the other folds, calibrated; and the calibration."""
        folds = [self._fold_scores(examples, binary, k)
                 for k in tqdm(range(self.folds), desc="reward model folds", disable=not progress, leave=False)]
        return self._calibrated(examples.log, folds, binary)

    def _calibrated(self, log: LoggedFeedback, folds: Sequence[tuple[np.ndarray, np.ndarray]],
                    binary: bool) -> tuple[np.ndarray, float]:
        scores = np.zeros(log.candidates.shape)
        for rows, fold_scores in folds:
            scores[rows] = fold_scores
        shift = _calibration(scores[np.arange(log.n_rounds), log.action], log.reward, binary)
        return _rewards(scores, shift, log.candidates, binary, *_range(log)), shift

    def _train(self, examples: "_Examples", rows: np.ndarray, binary: bool,
               rng: np.random.Generator) -> vowpalwabbit.Workspace:
        # Learned as the chosen candidate's cost at probability 1: a regression on what was
        # shown, without importance weights (the model conditions on the artwork).
        loss = ["--loss_function", "logistic"] if binary else []
        ws = vowpalwabbit.Workspace(arg_list=[
            "--cb_adf", "--cb_type", "mtr", "--quiet", *loss, "-l", str(self.learning_rate),
            "-b", str(self.bits), "--random_seed", str(self.seed), *self.features.vw_args()])
        log = examples.log
        for p in range(self.passes):
            order = rows if p == 0 else rng.permutation(rows)
            for row in order:
                row = int(row)
                reward = float(log.reward[row])
                # logistic: cost -1 for a reward of 1, +1 for 0; squared: cost = -reward
                label = (1.0 if reward > 0 else -1.0) if binary else reward
                learn_example(ws, with_label(examples.lines(row), int(log.action[row]), label, 1.0))
        return ws

def _rewards(scores: np.ndarray, shift: float, candidates: np.ndarray, binary: bool,
             low: float, high: float) -> np.ndarray:
    """Predicted rewards from the model's costs, calibrated, inside the reward range [low, high]."""
    if binary:
        # the score is the log-odds of cost +1 (no reward): the reward's is its negative
        rewards = 1.0 / (1.0 + np.exp(scores - shift))
    else:
        rewards = np.clip(-scores + shift, low, high)
    rewards[candidates < 0] = 0.0
    return rewards


def _rewards_per_row(scores: np.ndarray, firsts: np.ndarray, inverse: np.ndarray, shift: float,
                     candidates: np.ndarray, binary: bool, low: float, high: float) -> np.ndarray:
    """Every row's predicted rewards from the distinct rows' scores (see `_distinct_scores`):
    linked once per distinct row, then copied to the rows alike (the same numbers, a fraction of
    the work)."""
    return _rewards(scores, shift, candidates[firsts], binary, low, high)[inverse]


def _predict(ws: vowpalwabbit.Workspace, examples: "_Examples", rows: np.ndarray) -> np.ndarray:
    """The model's scores (costs) of every candidate of `rows`, computed once per distinct row
    (the same context, user, title and candidates) and copied to the others."""
    scores, _, inverse = _distinct_scores(ws, examples, rows)
    return scores[inverse]


def _distinct_scores(ws: vowpalwabbit.Workspace, examples: "_Examples",
                     rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The scores of each distinct row among `rows`, a row of the log that each stands for,
    and each of `rows`' index into them."""
    first, index = examples.distinct
    needed, inverse = np.unique(index[rows], return_inverse=True)
    out = np.zeros((needed.shape[0], examples.log.max_candidates))
    for at, key in enumerate(needed):
        parsed = ws._parse("\n".join(examples.lines(int(first[key]))))
        try:
            pylibvw.vw.predict_multi(ws, parsed)
            scores = parsed[0].get_action_scores()
        finally:
            pylibvw.vw._finish_example_multi_ex(ws, parsed)
        out[at, : len(scores)] = scores
    return out, first[needed], inverse.reshape(-1)


class _Examples:
    """Each logged row as VW's example text, made once per distinct context and artwork."""

    def __init__(self, log: LoggedFeedback, catalog: Mapping[str, Action] | None, space: FeatureSpace) -> None:
        self.log, self.space = log, space
        self.rows = BanditRows(log, catalog)
        self._shared: dict[tuple, str] = {}
        self._actions: dict[str, str] = {}

    @cached_property
    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """The first row of each distinct row, and each row's index into them (BanditRows.distinct)."""
        return self.rows.distinct()

    def lines(self, row: int) -> list[str]:
        """The unlabelled example of a row: its shared line, then one line per candidate."""
        key = self.rows.key(row)[:3]
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = self.space.shared_line(self.rows.context(row))
        out = [shared]
        for action in self.rows.actions(row):
            line = self._actions.get(action.id)
            if line is None:
                line = self._actions[action.id] = self.space.action_line(action)
            out.append(line)
        return out


@dataclass(frozen=True)
class FittedRewardModel:
    """A reward model fitted once (its Vowpal Wabbit model and calibration), to predict other logs' rows."""

    model: bytes
    shift: float
    binary: bool
    low: float
    high: float
    features: FeatureSpace

    def predict(self, log: LoggedFeedback, catalog: Mapping[str, Action] | None = None) -> np.ndarray:
        """Predicted rewards of every candidate of every row of `log`, shape (n_rounds, max_candidates)."""
        workspace = load_model(self.model)
        try:
            scores, firsts, inverse = _distinct_scores(workspace, _Examples(log, catalog, self.features),
                                                       np.arange(log.n_rounds))
        finally:
            workspace.finish()
        return _rewards_per_row(scores, firsts, inverse, self.shift, log.candidates, self.binary,
                                self.low, self.high)


def _binary(log: LoggedFeedback) -> bool:
    return bool(np.isin(log.reward, (0.0, 1.0)).all())


def _range(log: LoggedFeedback) -> tuple[float, float]:
    return float(log.reward.min()), float(log.reward.max())


def _calibration(factual_scores: np.ndarray, rewards: np.ndarray, binary: bool) -> float:
    """The shift that makes the mean prediction of the logged actions equal their mean reward."""
    if not binary:
        return float(np.mean(rewards + factual_scores))
    target = float(np.mean(rewards))
    if target <= 0.0 or target >= 1.0:
        return 0.0
    low, high = -30.0, 30.0
    for _ in range(60):  # bisection on the log-odds shift: the mean is monotone in it
        mid = (low + high) / 2
        if np.mean(1.0 / (1.0 + np.exp(factual_scores - mid))) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2
