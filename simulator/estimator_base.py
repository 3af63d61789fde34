"""What every off-policy estimator shares: the Estimate it returns, its settings, input checks,
importance weights, and the diagnostics and interval computed from sufficient statistics.

Every estimator takes the logged feedback and the evaluated policy's pmf on each logged row
(`target_pmf`, shape (n_rounds, max_candidates), aligned with `log.candidates`). Those that
can (`distributable`) turn a chunk of rows into `Statistics` that add across chunks, so an
estimate over a partitioned log is exactly the one over the whole log.
"""
from __future__ import annotations

from abc import ABC
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np

from artwork.records import PMF_TOLERANCE

from simulator.errors import InvalidEstimatorError
from simulator.logs import LoggedFeedback
from simulator.rowwise import RowPmf, row_sums
from simulator.statistics import Statistics, components

# Diagnostics: an effective sample size below this share of the rows, or one row holding more
# than this share of the total weight, makes an importance-weighted interval unreliable.
LOW_ESS_SHARE = 0.01
DOMINANT_WEIGHT_SHARE = 0.2
DOMINANT_MIN_MATCHES = 20
# Below this effective number of rewarded rows, intervals use Student's t instead of the normal.
T_BELOW = 100.0
# The components every weighted estimator's statistics carry, for its diagnostics: the
# importance weight, the target mass the log cannot support, and the weighted reward.
DIAGNOSTICS = ("w", "unsupported", "wr")


@dataclass(frozen=True)
class Estimate:
    """One estimator's value for one policy, with its interval and diagnostics."""

    estimator: str
    value: float
    ci_low: float
    ci_high: float
    ess: float
    n_rounds: int
    confidence: float
    ci_method: str
    n_matched: int | None = None
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields."""
        out = asdict(self)
        out["warnings"] = list(self.warnings)
        return out


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 of importance weights."""
    sq = float(np.dot(weights, weights))
    return float(weights.sum()) ** 2 / sq if sq > 0 else 0.0


@dataclass(frozen=True)
class Estimator(ABC):
    """An off-policy estimator; settings are checked once, inputs are never modified."""

    name: ClassVar[str] = ""
    # Whether the estimate is a function of `statistics` (sums that add across chunks).
    distributable: ClassVar[bool] = True
    # Whether it needs a reward model's predictions (`estimated_rewards`).
    needs_rewards: ClassVar[bool] = False
    # What its matched rows are, in its warnings.
    matched_what: ClassVar[str] = "logged actions have positive target probability"
    confidence: float = 0.95
    min_matches: int = 100

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise InvalidEstimatorError(f"{self.name}: confidence {self.confidence!r} must be in (0, 1), e.g. 0.95")
        if self.min_matches < 0:
            raise InvalidEstimatorError(f"{self.name}: min_matches {self.min_matches!r} must be >= 0")

    def estimate(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 estimated_rewards: Any = None) -> Estimate:
        """Estimate the evaluated policy's mean reward on the log's contexts."""
        return self.from_statistics(self.statistics(log, target_pmf, estimated_rewards))

    def statistics(self, log: LoggedFeedback, target_pmf: np.ndarray,
                   estimated_rewards: Any = None) -> Statistics:
        """The sufficient statistics of a chunk of the log (distributable estimators)."""
        raise InvalidEstimatorError(f"{self.name} cannot be computed from per-chunk statistics")

    def from_statistics(self, stats: Statistics) -> Estimate:
        """The estimate and its interval from the statistics of all the log's rows."""
        raise InvalidEstimatorError(f"{self.name} cannot be computed from per-chunk statistics")

    # -- shared pieces

    @property
    def _z(self) -> float:
        return NormalDist().inv_cdf(0.5 + self.confidence / 2.0)

    def _quantile(self, stats: Statistics) -> float:
        """The interval's quantile: normal, or Student's t when a few heavy rewarded rows decide it.

        Where the estimate rests on few rewarded events (their effective number,
        (sum w r)^2 / sum (w r)^2, is small), the normal approximation is too optimistic;
        Student's t with that many degrees of freedom widens the interval accordingly.
        """
        events = _effective_rewarded(stats)
        if events >= T_BELOW:
            return self._z
        from scipy.stats import t as student_t  # here: importing scipy.stats takes most of a second

        return float(student_t.ppf(0.5 + self.confidence / 2.0, max(events - 1.0, 1.0)))

    def _check(self, log: LoggedFeedback, target_pmf: np.ndarray) -> np.ndarray:
        """The target pmf as a checked dense (n_rounds, max_candidates) array."""
        return np.asarray(self._checked(log, target_pmf), dtype=np.float64)

    def _checked(self, log: LoggedFeedback, target_pmf: np.ndarray | RowPmf) -> np.ndarray | RowPmf:
        """The target pmf checked: a RowPmf as it is (each distinct row once), else as an array."""
        kept = isinstance(target_pmf, RowPmf)
        matrix = target_pmf.distinct if kept else np.asarray(target_pmf, dtype=np.float64)
        shape = target_pmf.shape if kept else matrix.shape
        if log.n_rounds == 0:
            raise InvalidEstimatorError(f"{self.name}: the log is empty; nothing to estimate")
        if shape != log.candidates.shape:
            raise InvalidEstimatorError(
                f"{self.name}: target pmf has shape {shape}, expected {log.candidates.shape} "
                "(one probability per logged candidate)")
        def row(at: np.ndarray) -> int:  # the log row (1-based) of the matrix's first flagged row
            first = int(np.flatnonzero(at)[0])
            return int(target_pmf.rows[first] if kept else first) + 1

        sums = row_sums(matrix)
        bad = np.abs(sums - 1.0) > PMF_TOLERANCE
        if bad.any() or not np.isfinite(sums).all():
            flagged = bad | ~np.isfinite(sums)
            raise InvalidEstimatorError(f"{self.name}: target pmf of row {row(flagged)} sums to "
                                        f"{float(sums[np.flatnonzero(flagged)[0]]):.9g}, not 1")
        if matrix.min() < 0:
            raise InvalidEstimatorError(
                f"{self.name}: target pmf of row {row((matrix < 0).any(axis=1))} has a negative probability")
        if log.padded:
            pads = log.candidates[target_pmf.rows] < 0 if kept else log.candidates < 0
            if matrix[pads].any():
                raise InvalidEstimatorError(f"{self.name}: target pmf of row {row((pads & (matrix > 0)).any(axis=1))} "
                                            "puts mass past the candidates")
        return target_pmf if kept else matrix

    def _weights(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 clip: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Checked target pmf (a RowPmf stays one), importance weights (clipped) and per-row
        unsupported target mass."""
        target_pmf = self._checked(log, target_pmf)
        if isinstance(target_pmf, RowPmf):
            w = target_pmf.at(log.action) / log.pscore
        else:
            w = target_pmf[np.arange(log.n_rounds), log.action] / log.pscore
        if clip is not None:
            w = np.minimum(w, clip)
        return target_pmf, w, _unsupported(log, target_pmf)

    def _stats(self, log: LoggedFeedback, w: np.ndarray, unsupported: np.ndarray,
               names: tuple[str, ...], values: list[np.ndarray]) -> Statistics:
        """A chunk's statistics: the estimator's components after the diagnostic ones."""
        return components(
            DIAGNOSTICS + names, [w, unsupported, w * log.reward] + values,
            counts={"matched": int(np.count_nonzero(w)), "unsupported_rows": int((unsupported > 0).sum())},
            maxima={"w": float(w.max(initial=0.0)), "reward": float(log.reward.max())},
            minima={"reward": float(log.reward.min())})

    def _result(self, stats: Statistics, value: float, gradient: np.ndarray, method: str = "delta",
                extra: tuple[str, ...] = ()) -> Estimate:
        """The Estimate: value, delta-method interval kept inside the reward range, diagnostics."""
        k = len(DIAGNOSTICS)
        full = np.zeros(len(stats.names))
        full[k:] = gradient
        if np.isfinite(value):
            half = self._quantile(stats) * stats.delta_se(full)
            low, high = _inside(value - half, value + half, stats)
        else:
            low = high = float("nan")
        return Estimate(self.name, float(value), low, high, _ess(stats), stats.n, self.confidence,
                        method, stats.counts.get("matched"), tuple(self._warnings(stats)) + extra)

    def _warnings(self, stats: Statistics) -> list[str]:
        out = []
        mass = stats.mean("unsupported")
        if mass > 0:
            out.append(f"support deficiency: the evaluated policy puts {mass:.2%} of its mass on artworks "
                       f"the logging policy never chose or gave probability 0 "
                       f"({stats.counts['unsupported_rows']} rows); {self.name} is biased there")
        matched = stats.counts.get("matched", 0)
        if matched < self.min_matches:
            out.append(f"only {matched} {self.matched_what} (fewer than {self.min_matches}); the "
                       "interval is unreliable")
        ess = _ess(stats)
        if 0 < ess < LOW_ESS_SHARE * stats.n:
            out.append(f"effective sample size {ess:.1f} of {stats.n} rows (under {LOW_ESS_SHARE:.0%}): the "
                       "importance weights are extreme and the interval is unreliable")
        total = float(stats.sums[0])
        # (among a handful of matches one row always weighs a lot: "only N" said it already)
        if matched >= max(self.min_matches, DOMINANT_MIN_MATCHES) and total > 0 \
                and stats.maxima.get("w", 0.0) / total > DOMINANT_WEIGHT_SHARE:
            out.append(f"one row holds {stats.maxima['w'] / total:.0%} of the total importance weight; the "
                       "estimate rests on it")
        return out

    def _needs_rewards(self, log: LoggedFeedback, estimated_rewards: Any) -> np.ndarray:
        if estimated_rewards is None:
            raise InvalidEstimatorError(
                f"{self.name}: needs estimated rewards from a reward model fitted on the log "
                "(simulator.reward_model.RewardModel().fit(log))")
        predicted = getattr(estimated_rewards, "predicted", estimated_rewards)
        predicted = np.asarray(predicted, dtype=np.float64)
        if predicted.shape != log.candidates.shape:
            raise InvalidEstimatorError(
                f"{self.name}: estimated rewards have shape {predicted.shape}, expected {log.candidates.shape}")
        return predicted


def _unsupported(log: LoggedFeedback, target_pmf: np.ndarray) -> np.ndarray:
    """Per row, the evaluated policy's mass on candidates the logging policy could not show."""
    if log.pmf is not None:
        if not log.pmf_has_zeros:
            return np.zeros(log.n_rounds)
        # The target is checked non-negative and 0 on pads: its mass where the log's pmf is 0.
        unsupported = log.pmf == 0
    else:
        # Only propensities were logged: an artwork the log never chose has no support we can see.
        seen = np.bincount(log.action_id, minlength=log.n_actions) > 0
        if log.chosen_elsewhere:  # a partition: what the rest of its log chose is supported too
            seen |= np.isin(np.asarray(log.action_names, dtype=object), list(log.chosen_elsewhere))
        valid = log.candidates >= 0
        unsupported = valid & ~seen[np.where(valid, log.candidates, 0)]
        if not unsupported.any():
            return np.zeros(log.n_rounds)
    return row_sums(np.where(unsupported, np.asarray(target_pmf), 0.0))


def _effective_rewarded(stats: Statistics) -> float:
    """The effective number of rewarded rows behind the weighted rewards: (sum w r)^2 / sum (w r)^2."""
    i = stats.names.index("wr")
    total, squares = float(stats.sums[i]), float(stats.products[i, i])
    return total * total / squares if squares > 0 else 0.0


def _ess(stats: Statistics) -> float:
    total, squares = float(stats.sums[0]), float(stats.products[0, 0])
    return total * total / squares if squares > 0 else 0.0


def _inside(low: float, high: float, stats: Statistics) -> tuple[float, float]:
    """An interval kept inside the range of the logged rewards (a mean reward cannot leave it)."""
    lo, hi = stats.minima.get("reward", -np.inf), stats.maxima.get("reward", np.inf)
    return float(min(max(low, lo), hi)), float(max(min(high, hi), lo))


@dataclass(frozen=True)
class ClippedEstimator(Estimator):
    """An estimator whose importance weights may be clipped at `clip`."""

    clip: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.clip is not None and not self.clip > 0:
            raise InvalidEstimatorError(
                f"{self.name}: clip {self.clip!r} must be > 0 (a maximum importance weight) or None")


def ratio_gradient(numerator: float, denominator: float) -> np.ndarray:
    """Gradient of numerator / denominator with respect to (numerator, denominator)."""
    return np.array([1.0 / denominator, -numerator / denominator ** 2])
