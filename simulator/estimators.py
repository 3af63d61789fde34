"""Off-policy estimators: replay, IPS and self-normalized IPS here; the model-based ones (direct
method, doubly robust and its variants) in simulator/model_based.py; all by name in ESTIMATORS.

Every estimator takes the logged feedback and the evaluated policy's pmf on each logged row
(`target_pmf`, shape (n_rounds, max_candidates), aligned with `log.candidates`) and returns an
Estimate with a confidence interval (kept inside the logged reward range), the effective
sample size and warnings.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from simulator.errors import InvalidEstimatorError
from simulator.estimator_base import (ClippedEstimator, Estimate, Estimator, effective_sample_size,
                                      ratio_gradient)
from simulator.logs import LoggedFeedback
from simulator.model_based import (DirectMethod, DoublyRobust, DoublyRobustShrinkage,
                                   SelfNormalizedDoublyRobust, SwitchDoublyRobust)
from simulator.statistics import Statistics
from simulator.selection import SelectedEstimator

__all__ = [
    "DirectMethod", "DoublyRobust", "DoublyRobustShrinkage", "Estimate", "Estimator", "IPS", "Replay",
    "SelfNormalizedDoublyRobust", "SelfNormalizedIPS", "SwitchDoublyRobust", "ESTIMATORS",
    "effective_sample_size", "make_estimator", "sample_actions",
]


def sample_actions(target_pmf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One candidate position per row drawn from that row's pmf."""
    cdf = np.cumsum(target_pmf, axis=1)
    u = rng.random(target_pmf.shape[0]) * cdf[:, -1]
    picks = (cdf <= u[:, None]).sum(axis=1)
    # Never land on a zero-probability pad after the last real candidate.
    last = target_pmf.shape[1] - 1 - np.argmax(target_pmf[:, ::-1] > 0, axis=1)
    return np.minimum(picks, last)


@dataclass(frozen=True)
class Replay(Estimator):
    """Li et al. (2011) replay: keep the events where the evaluated policy's choice equals the logged one.

    Non-uniform logging is corrected by weighting each kept event by 1 / pscore (self-normalized),
    which reduces to the plain mean of matched rewards when logging was uniform.
    The evaluated policy's choice is drawn from its pmf with `seed`.
    """

    name: ClassVar[str] = "replay"
    distributable: ClassVar[bool] = False
    matched_what: ClassVar[str] = "events matched the logged action"
    seed: int = 0

    def estimate(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 estimated_rewards: Any = None) -> Estimate:
        """Replay estimate from choices drawn from `target_pmf`."""
        target_pmf, _, unsupported = self._weights(log, target_pmf)
        choice = sample_actions(np.asarray(target_pmf), np.random.default_rng(self.seed))
        result = self.from_matches(log, choice == log.action)
        support = self._stats(log, np.zeros(log.n_rounds), unsupported, (), [])
        caveats = tuple(w for w in self._warnings(support) if w.startswith("support"))
        return Estimate(**{**asdict(result), "warnings": caveats + result.warnings})

    def from_matches(self, log: LoggedFeedback, matched: np.ndarray) -> Estimate:
        """Replay estimate from a given mask of matched events (e.g. a learning policy run through the log)."""
        matched = np.asarray(matched, dtype=bool)
        if matched.shape != (log.n_rounds,):
            raise InvalidEstimatorError(f"{self.name}: matched mask has shape {matched.shape}, expected ({log.n_rounds},)")
        w = np.where(matched, 1.0 / log.pscore, 0.0)
        stats = self._stats(log, w, np.zeros(log.n_rounds), ("wr", "w1"), [w * log.reward, w])
        k = int(matched.sum())
        if k == 0:
            empty = Estimate(self.name, float("nan"), float("nan"), float("nan"), 0.0, log.n_rounds,
                             self.confidence, "delta", 0)
            return Estimate(**{**asdict(empty), "warnings": tuple(self._warnings(stats))})
        numerator, denominator = stats.mean("wr"), stats.mean("w1")
        return self._result(stats, numerator / denominator, ratio_gradient(numerator, denominator))


@dataclass(frozen=True)
class IPS(ClippedEstimator):
    """Inverse propensity scoring (Horvitz & Thompson 1952), optionally with weights clipped at `clip`.

    V = mean_i( w_i r_i ),  w_i = pi(a_i|x_i) / p_i.
    """

    name: ClassVar[str] = "ips"

    def statistics(self, log: LoggedFeedback, target_pmf: np.ndarray,
                   estimated_rewards: Any = None) -> Statistics:
        """Components: w r."""
        _, w, unsupported = self._weights(log, target_pmf, self.clip)
        return self._stats(log, w, unsupported, ("wr",), [w * log.reward])

    def from_statistics(self, stats: Statistics) -> Estimate:
        """Mean of w r with a normal interval."""
        return self._result(stats, stats.mean("wr"), np.array([1.0]), "normal")


@dataclass(frozen=True)
class SelfNormalizedIPS(Estimator):
    """Self-normalized inverse propensity scoring (Swaminathan & Joachims 2015).

    V = sum_i w_i r_i / sum_i w_i,  with a delta-method interval.
    """

    name: ClassVar[str] = "snips"

    def statistics(self, log: LoggedFeedback, target_pmf: np.ndarray,
                   estimated_rewards: Any = None) -> Statistics:
        """Components: w r and w."""
        _, w, unsupported = self._weights(log, target_pmf)
        return self._stats(log, w, unsupported, ("wr", "w1"), [w * log.reward, w])

    def from_statistics(self, stats: Statistics) -> Estimate:
        """The ratio and its delta-method interval."""
        numerator, denominator = stats.mean("wr"), stats.mean("w1")
        if denominator == 0:
            return self._result(stats, float("nan"), np.zeros(2))
        return self._result(stats, numerator / denominator, ratio_gradient(numerator, denominator))


ESTIMATORS: dict[str, type[Estimator]] = {
    cls.name: cls for cls in (Replay, IPS, SelfNormalizedIPS, DirectMethod, DoublyRobust,
                              SelfNormalizedDoublyRobust, SwitchDoublyRobust, DoublyRobustShrinkage,
                              SelectedEstimator)
}


def make_estimator(name: str, **settings: Any) -> Estimator:
    """An estimator by its short name (replay, ips, snips, dm, dr, sndr, switch-dr, dros, auto) with its settings."""
    try:
        cls = ESTIMATORS[name.strip().lower()]
    except KeyError:
        raise InvalidEstimatorError(
            f"unknown estimator {name!r}; choose from {', '.join(ESTIMATORS)}") from None
    fields = cls.__dataclass_fields__
    return cls(**{k: v for k, v in settings.items() if k in fields})
