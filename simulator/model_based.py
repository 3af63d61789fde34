"""Model-based off-policy estimators: the direct method, doubly robust and its variants.

They use a reward model's prediction q(x, a) of every candidate's reward (simulator/reward_model.py,
cross-fitted so a row is never predicted by a model that learned from it). With the evaluated
policy pi, the logged action a_i, its propensity p_i and w_i = pi(a_i|x_i) / p_i:

- DM   (Dudik et al. 2011):  V = mean_i( sum_a pi(a|x_i) q(x_i, a) ) = mean_i( dm_i )
- DR   (Dudik et al. 2011):  V = mean_i( dm_i + w_i (r_i - q(x_i, a_i)) )
- SNDR (self-normalized DR, as in Open Bandit Pipeline): V = mean_i( dm_i ) + sum_i w_i e_i / sum_i w_i,
  e_i = r_i - q(x_i, a_i)
- Switch-DR (Wang, Agarwal & Dudik, ICML 2017): V = mean_i( dm_i + [w_i <= tau] w_i e_i )
- DRos (Su, Dimakopoulou, Krishnamurthy & Dudik, ICML 2020, DR with optimistic shrinkage):
  V = mean_i( dm_i + w^_i e_i ),  w^_i = lambda w_i / (w_i^2 + lambda)

Switch-DR's tau and DRos's lambda are tuned per evaluation by SLOPE (Su, Srinath &
Krishnamurthy, ICML 2020): among the estimates on a grid, ordered from the least biased
(largest variance) to the most, keep the last whose confidence interval, widened by two,
still meets those of all the less biased ones. The tuned value has the lower error; its
interval spans the least biased estimate's too, since its own would hide the bias it took on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from simulator.errors import InvalidEstimatorError
from simulator.estimator_base import ClippedEstimator, Estimate, Estimator, ratio_gradient
from simulator.logs import LoggedFeedback
from simulator.rowwise import RowPmf
from simulator.statistics import Statistics

__all__ = ["DirectMethod", "DoublyRobust", "DoublyRobustShrinkage", "SelfNormalizedDoublyRobust",
           "SwitchDoublyRobust", "slope_keep", "slope_select"]

# The tuning grids, least biased first (infinity: plain DR).
SWITCH_TAUS = (np.inf, 1000.0, 300.0, 100.0, 30.0, 10.0, 3.0, 1.0)
SHRINKAGE_LAMBDAS = (np.inf, 10_000.0, 1000.0, 100.0, 30.0, 10.0, 3.0, 1.0)


def _parts(log: LoggedFeedback, target_pmf: np.ndarray | RowPmf,
           rewards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the model's value of the evaluated policy (dm_i), and the logged residual (e_i)."""
    dm = np.einsum("ij,ij->i", np.asarray(target_pmf), rewards)
    residual = log.reward - rewards[np.arange(log.n_rounds), log.action]
    return dm, residual


def slope_select(values: list[float], half_widths: list[float]) -> int:
    """SLOPE: the index of the estimate to keep, the candidates ordered least biased first."""
    low, high = -np.inf, np.inf
    chosen = 0
    for i, (value, half) in enumerate(zip(values, half_widths)):
        if not (np.isfinite(value) and np.isfinite(half)):
            break
        low, high = max(low, value - 2 * half), min(high, value + 2 * half)
        if low > high:
            break
        chosen = i
    return chosen


def slope_keep(results: list[Estimate]) -> tuple[int, tuple[float, float]]:
    """The index of the estimate SLOPE keeps among `results` (least biased first), and its
    interval widened to reach the least biased one's: its own would not show the bias it may
    have taken on."""
    chosen = slope_select([r.value for r in results], [(r.ci_high - r.ci_low) / 2 for r in results])
    best = results[chosen]
    return chosen, (min(best.ci_low, results[0].ci_low), max(best.ci_high, results[0].ci_high))


@dataclass(frozen=True)
class DirectMethod(Estimator):
    """Direct method: the reward model's prediction averaged under the evaluated policy.

    The interval is a percentile bootstrap over models refitted on resampled rows (what the
    reward model's `fit(..., bootstrap=B)` provides), so it carries the model's estimation
    noise; given only one model's predictions, it is a bootstrap over rows conditional on that
    model and says it is too narrow. Neither covers the model's misspecification bias.
    """

    name: ClassVar[str] = "dm"
    distributable: ClassVar[bool] = False
    needs_rewards: ClassVar[bool] = True
    n_bootstrap: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_bootstrap < 10:
            raise InvalidEstimatorError(f"{self.name}: n_bootstrap {self.n_bootstrap!r} must be >= 10")

    def estimate(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 estimated_rewards: Any = None) -> Estimate:
        """Mean over rows of sum_a pi(a|x) q(x, a), with a refit-bootstrap interval."""
        target_pmf = self._check(log, target_pmf)
        rewards = self._needs_rewards(log, estimated_rewards)
        value = float(np.einsum("ij,ij->i", target_pmf, rewards).mean())
        replicates = getattr(estimated_rewards, "replicates", ())
        alpha = (1.0 - self.confidence) / 2.0
        if replicates:
            means = [float(np.einsum("ij,ij->i", target_pmf[rows], predicted[rows]).mean())
                     for rows, predicted in replicates]
            caveat = ("the interval carries the reward model's estimation noise (refitted on "
                      f"{len(means)} bootstrap resamples), not its misspecification bias")
            method = "bootstrap refits"
        else:
            per_round = np.einsum("ij,ij->i", target_pmf, rewards)
            rng = np.random.default_rng(self.seed)
            means = [float(per_round[rng.integers(0, log.n_rounds, log.n_rounds)].mean())
                     for _ in range(self.n_bootstrap)]
            caveat = ("the interval is conditional on one fitted reward model and too narrow; fit the "
                      "reward model with bootstrap refits for an honest one")
            method = "bootstrap"
        low, high = np.quantile(means, [alpha, 1.0 - alpha])
        lo, hi = float(log.reward.min()), float(log.reward.max())
        return Estimate(self.name, value, float(np.clip(low, lo, hi)), float(np.clip(high, lo, hi)),
                        float(log.n_rounds), log.n_rounds, self.confidence, method, None, (caveat,))


@dataclass(frozen=True)
class DoublyRobust(ClippedEstimator):
    """Doubly robust: the direct method corrected by importance-weighted residuals of the logged action."""

    name: ClassVar[str] = "dr"
    needs_rewards: ClassVar[bool] = True

    def statistics(self, log: LoggedFeedback, target_pmf: np.ndarray,
                   estimated_rewards: Any = None) -> Statistics:
        """Components: dm + w e."""
        target_pmf, w, unsupported = self._weights(log, target_pmf, self.clip)
        dm, residual = _parts(log, target_pmf, self._needs_rewards(log, estimated_rewards))
        return self._stats(log, w, unsupported, ("dr",), [dm + w * residual])

    def from_statistics(self, stats: Statistics) -> Estimate:
        """Mean of dm + w e with a normal interval."""
        return self._result(stats, stats.mean("dr"), np.array([1.0]), "normal")


@dataclass(frozen=True)
class SelfNormalizedDoublyRobust(Estimator):
    """Self-normalized doubly robust: the residual correction divided by the mean weight."""

    name: ClassVar[str] = "sndr"
    needs_rewards: ClassVar[bool] = True

    def statistics(self, log: LoggedFeedback, target_pmf: np.ndarray,
                   estimated_rewards: Any = None) -> Statistics:
        """Components: dm, w e and w."""
        target_pmf, w, unsupported = self._weights(log, target_pmf)
        dm, residual = _parts(log, target_pmf, self._needs_rewards(log, estimated_rewards))
        return self._stats(log, w, unsupported, ("dm", "we", "w1"), [dm, w * residual, w])

    def from_statistics(self, stats: Statistics) -> Estimate:
        """mean(dm) + sum(w e) / sum(w), with a delta-method interval."""
        dm, we, w = stats.mean("dm"), stats.mean("we"), stats.mean("w1")
        if w == 0:
            return self._result(stats, dm, np.array([1.0, 0.0, 0.0]))
        return self._result(stats, dm + we / w, np.concatenate([[1.0], ratio_gradient(we, w)]))


@dataclass(frozen=True)
class _TunedDoublyRobust(Estimator):
    """A doubly robust estimator with one tuning knob, chosen per evaluation by SLOPE on a grid."""

    grid: tuple[float, ...] = field(default=())
    knob: ClassVar[str] = ""
    needs_rewards: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        grid = tuple(float(g) for g in self.grid) or self._default_grid()
        if any(not g > 0 for g in grid):
            raise InvalidEstimatorError(f"{self.name}: every {self.knob} must be > 0, got {grid}")
        object.__setattr__(self, "grid", tuple(sorted(grid, reverse=True)))

    def _default_grid(self) -> tuple[float, ...]:
        raise NotImplementedError

    def _weight(self, w: np.ndarray, value: float) -> np.ndarray:
        """The weight the residual gets at this value of the knob."""
        raise NotImplementedError

    def statistics(self, log: LoggedFeedback, target_pmf: np.ndarray,
                   estimated_rewards: Any = None) -> Statistics:
        """Components: dm + w(knob) e for every value on the grid."""
        target_pmf, w, unsupported = self._weights(log, target_pmf)
        dm, residual = _parts(log, target_pmf, self._needs_rewards(log, estimated_rewards))
        names = tuple(f"{self.knob}={g:g}" for g in self.grid)
        return self._stats(log, w, unsupported, names, [dm + self._weight(w, g) * residual for g in self.grid])

    def from_statistics(self, stats: Statistics) -> Estimate:
        """The SLOPE-selected value on the grid, with its normal interval."""
        k = len(self.grid)
        results = [self._result(stats, stats.mean(name), np.eye(k)[i], "normal")
                   for i, name in enumerate(stats.names[-k:])]
        chosen, (low, high) = slope_keep(results)  # the least biased: plain DR (knob infinite)
        best = results[chosen]
        note = f"{self.knob} = {self.grid[chosen]:g}, chosen by SLOPE from {', '.join(f'{g:g}' for g in self.grid)}"
        return Estimate(best.estimator, best.value, low, high, best.ess, best.n_rounds, best.confidence,
                        f"normal, {note}; the interval spans the least biased one's", best.n_matched,
                        best.warnings)


@dataclass(frozen=True)
class SwitchDoublyRobust(_TunedDoublyRobust):
    """Switch doubly robust (Wang, Agarwal, Dudik 2017): DR whose correction is dropped where w > tau."""

    name: ClassVar[str] = "switch-dr"
    knob: ClassVar[str] = "tau"

    def _default_grid(self) -> tuple[float, ...]:
        return SWITCH_TAUS

    def _weight(self, w: np.ndarray, value: float) -> np.ndarray:
        return np.where(w <= value, w, 0.0)


@dataclass(frozen=True)
class DoublyRobustShrinkage(_TunedDoublyRobust):
    """DR with optimistic shrinkage (Su et al. 2020): w^ = lambda w / (w^2 + lambda)."""

    name: ClassVar[str] = "dros"
    knob: ClassVar[str] = "lambda"

    def _default_grid(self) -> tuple[float, ...]:
        return SHRINKAGE_LAMBDAS

    def _weight(self, w: np.ndarray, value: float) -> np.ndarray:
        if not np.isfinite(value):
            return w
        return value * w / (w * w + value)
