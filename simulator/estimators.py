"""Off-policy estimators: replay, IPS, self-normalized IPS, direct method and doubly robust.

Every estimator takes the logged feedback and the evaluated policy's pmf on each logged row
(`target_pmf`, shape (n_rounds, max_candidates), aligned with `log.candidates`) and returns an
Estimate with a confidence interval, the effective sample size and warnings.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np

from artwork.records import PMF_TOLERANCE

from simulator.errors import InvalidEstimatorError
from simulator.logs import LoggedFeedback

__all__ = [
    "DirectMethod",
    "DoublyRobust",
    "Estimate",
    "Estimator",
    "IPS",
    "Replay",
    "SelfNormalizedIPS",
    "ESTIMATORS",
    "effective_sample_size",
    "make_estimator",
    "sample_actions",
]


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


def sample_actions(target_pmf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One candidate position per row drawn from that row's pmf."""
    cdf = np.cumsum(target_pmf, axis=1)
    u = rng.random(target_pmf.shape[0]) * cdf[:, -1]
    picks = (cdf <= u[:, None]).sum(axis=1)
    # Never land on a zero-probability pad after the last real candidate.
    last = target_pmf.shape[1] - 1 - np.argmax(target_pmf[:, ::-1] > 0, axis=1)
    return np.minimum(picks, last)


@dataclass(frozen=True)
class Estimator(ABC):
    """An off-policy estimator; settings are checked once, inputs are never modified."""

    name: ClassVar[str] = ""
    confidence: float = 0.95
    min_matches: int = 100

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise InvalidEstimatorError(f"{self.name}: confidence {self.confidence!r} must be in (0, 1), e.g. 0.95")
        if self.min_matches < 0:
            raise InvalidEstimatorError(f"{self.name}: min_matches {self.min_matches!r} must be >= 0")

    @abstractmethod
    def estimate(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 estimated_rewards: np.ndarray | None = None) -> Estimate:
        """Estimate the evaluated policy's mean reward on the log's contexts."""

    # -- shared pieces

    @property
    def _z(self) -> float:
        return NormalDist().inv_cdf(0.5 + self.confidence / 2.0)

    def _normal(self, value: float, se: float) -> tuple[float, float]:
        return float(value - self._z * se), float(value + self._z * se)

    def _check(self, log: LoggedFeedback, target_pmf: np.ndarray) -> np.ndarray:
        target_pmf = np.asarray(target_pmf, dtype=np.float64)
        if log.n_rounds == 0:
            raise InvalidEstimatorError(f"{self.name}: the log is empty; nothing to estimate")
        if target_pmf.shape != log.candidates.shape:
            raise InvalidEstimatorError(
                f"{self.name}: target pmf has shape {target_pmf.shape}, expected {log.candidates.shape} "
                "(one probability per logged candidate)")
        sums = target_pmf.sum(axis=1)
        bad = np.abs(sums - 1.0) > PMF_TOLERANCE
        if bad.any() or not np.isfinite(sums).all():
            row = int(np.flatnonzero(bad | ~np.isfinite(sums))[0])
            raise InvalidEstimatorError(f"{self.name}: target pmf of row {row + 1} sums to {float(sums[row]):.9g}, not 1")
        if target_pmf.min() < 0:
            row = int(np.flatnonzero((target_pmf < 0).any(axis=1))[0])
            raise InvalidEstimatorError(f"{self.name}: target pmf of row {row + 1} has a negative probability")
        if log.candidates.min() < 0 and target_pmf[log.candidates < 0].any():
            row = int(np.flatnonzero(((log.candidates < 0) & (target_pmf > 0)).any(axis=1))[0])
            raise InvalidEstimatorError(f"{self.name}: target pmf of row {row + 1} puts mass past the candidates")
        return target_pmf

    def _support_warnings(self, log: LoggedFeedback, target_pmf: np.ndarray) -> list[str]:
        if log.pmf is not None:
            unsupported = (log.pmf == 0) & (target_pmf > 0)
            mass = float(target_pmf[unsupported].sum()) / log.n_rounds
            rows = int(unsupported.any(axis=1).sum())
        else:
            # Only propensities were logged: an artwork the log never chose has no support we can see.
            seen = np.bincount(log.action_id, minlength=log.n_actions) > 0
            valid = log.candidates >= 0
            unseen = valid & ~seen[np.where(valid, log.candidates, 0)]
            mass = float(target_pmf[unseen].sum()) / log.n_rounds
            rows = int((unseen & (target_pmf > 0)).any(axis=1).sum())
        if mass <= 0:
            return []
        return [f"support deficiency: the evaluated policy puts {mass:.2%} of its mass on artworks the logging "
                f"policy never chose or gave probability 0 ({rows} rows); {self.name} is biased there"]

    def _few(self, count: int, what: str) -> list[str]:
        if count < self.min_matches:
            return [f"only {count} {what} (fewer than {self.min_matches}); the interval is unreliable"]
        return []

    def _weighted(self, log: LoggedFeedback, target_pmf: np.ndarray,
                  clip: float | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Checked target pmf, importance weights (clipped) and the support / match warnings."""
        target_pmf = self._check(log, target_pmf)
        w = target_pmf[np.arange(log.n_rounds), log.action] / log.pscore
        if clip is not None:
            w = np.minimum(w, clip)
        warnings = self._support_warnings(log, target_pmf) + self._few(
            int(np.count_nonzero(w)), "logged actions have positive target probability")
        return target_pmf, w, warnings

    def _result(self, log: LoggedFeedback, value: float, se: float, w: np.ndarray, method: str,
                warnings: list[str]) -> Estimate:
        low, high = self._normal(value, se) if np.isfinite(value) else (float("nan"), float("nan"))
        return Estimate(self.name, value, low, high, effective_sample_size(w), log.n_rounds, self.confidence,
                        method, int(np.count_nonzero(w)), tuple(warnings))

    def _needs_rewards(self, log: LoggedFeedback, estimated_rewards: np.ndarray | None) -> np.ndarray:
        if estimated_rewards is None:
            raise InvalidEstimatorError(
                f"{self.name}: needs estimated_rewards from a reward model fitted on the log "
                "(simulator.reward_model.VWRewardModel().fit_predict(log))")
        estimated_rewards = np.asarray(estimated_rewards, dtype=np.float64)
        if estimated_rewards.shape != log.candidates.shape:
            raise InvalidEstimatorError(
                f"{self.name}: estimated_rewards has shape {estimated_rewards.shape}, expected {log.candidates.shape}")
        return estimated_rewards


@dataclass(frozen=True)
class _ClippedEstimator(Estimator):
    """An estimator whose importance weights may be clipped at `clip`."""

    clip: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.clip is not None and not self.clip > 0:
            raise InvalidEstimatorError(
                f"{self.name}: clip {self.clip!r} must be > 0 (a maximum importance weight) or None")


@dataclass(frozen=True)
class Replay(Estimator):
    """Li et al. (2011) replay: keep the events where the evaluated policy's choice equals the logged one.

    Non-uniform logging is corrected by weighting each kept event by 1 / pscore (self-normalized),
    which reduces to the plain mean of matched rewards when logging was uniform.
    The evaluated policy's choice is drawn from its pmf with `seed`.
    """

    name: ClassVar[str] = "replay"
    seed: int = 0

    def estimate(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 estimated_rewards: np.ndarray | None = None) -> Estimate:
        """Replay estimate from choices drawn from `target_pmf`."""
        target_pmf = self._check(log, target_pmf)
        choice = sample_actions(target_pmf, np.random.default_rng(self.seed))
        result = self.from_matches(log, choice == log.action)
        return Estimate(**{**asdict(result), "warnings": tuple(self._support_warnings(log, target_pmf))
                           + result.warnings})

    def from_matches(self, log: LoggedFeedback, matched: np.ndarray) -> Estimate:
        """Replay estimate from a given mask of matched events (e.g. a learning policy run through the log)."""
        matched = np.asarray(matched, dtype=bool)
        if matched.shape != (log.n_rounds,):
            raise InvalidEstimatorError(f"{self.name}: matched mask has shape {matched.shape}, expected ({log.n_rounds},)")
        w = np.where(matched, 1.0 / log.pscore, 0.0)
        k = int(matched.sum())
        warnings = self._few(k, "events matched the logged action")
        if k == 0:
            return Estimate(self.name, float("nan"), float("nan"), float("nan"), 0.0, log.n_rounds,
                            self.confidence, "delta", 0, tuple(warnings))
        value, se = _ratio(w, log.reward)
        return Estimate(self.name, value, *self._normal(value, se), effective_sample_size(w), log.n_rounds,
                        self.confidence, "delta", k, tuple(warnings))


def _ratio(w: np.ndarray, reward: np.ndarray) -> tuple[float, float]:
    """Self-normalized mean sum(w r) / sum(w) and its delta-method standard error."""
    total = float(w.sum())
    value = float(np.dot(w, reward)) / total
    n = w.shape[0]
    resid = w * (reward - value)
    se = float(np.sqrt(np.dot(resid, resid))) / total if n > 1 else 0.0
    return value, se * np.sqrt(n / (n - 1)) if n > 1 else se


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    n = values.shape[0]
    value = float(values.mean())
    se = float(values.std(ddof=1)) / np.sqrt(n) if n > 1 else 0.0
    return value, se


@dataclass(frozen=True)
class IPS(_ClippedEstimator):
    """Inverse propensity scoring, optionally with importance weights clipped at `clip`."""

    name: ClassVar[str] = "ips"

    def estimate(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 estimated_rewards: np.ndarray | None = None) -> Estimate:
        """Mean of w * reward with a normal interval."""
        target_pmf, w, warnings = self._weighted(log, target_pmf, self.clip)
        return self._result(log, *_mean_se(w * log.reward), w, "normal", warnings)


@dataclass(frozen=True)
class SelfNormalizedIPS(Estimator):
    """Self-normalized inverse propensity scoring: sum(w r) / sum(w)."""

    name: ClassVar[str] = "snips"

    def estimate(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 estimated_rewards: np.ndarray | None = None) -> Estimate:
        """Ratio estimate with a delta-method interval."""
        target_pmf, w, warnings = self._weighted(log, target_pmf, None)
        if not w.any():
            return self._result(log, float("nan"), float("nan"), w, "delta", warnings)
        return self._result(log, *_ratio(w, log.reward), w, "delta", warnings)


@dataclass(frozen=True)
class DirectMethod(Estimator):
    """Direct method: the reward model's prediction averaged under the evaluated policy.

    The interval is a seeded percentile bootstrap over rounds, conditional on the fitted model.
    """

    name: ClassVar[str] = "dm"
    n_bootstrap: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_bootstrap < 10:
            raise InvalidEstimatorError(f"{self.name}: n_bootstrap {self.n_bootstrap!r} must be >= 10")

    def estimate(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 estimated_rewards: np.ndarray | None = None) -> Estimate:
        """Mean over rounds of sum_k pmf_k * predicted reward_k."""
        target_pmf = self._check(log, target_pmf)
        rewards = self._needs_rewards(log, estimated_rewards)
        per_round = np.einsum("ij,ij->i", target_pmf, rewards)
        value = float(per_round.mean())
        low, high = _bootstrap_mean(per_round, self.n_bootstrap, self.confidence, self.seed)
        return Estimate(self.name, value, low, high, float(log.n_rounds), log.n_rounds, self.confidence,
                        "bootstrap", None, ())


def _bootstrap_mean(values: np.ndarray, n_bootstrap: int, confidence: float, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    n = values.shape[0]
    means = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        means[b] = values[rng.integers(0, n, n)].mean()
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


@dataclass(frozen=True)
class DoublyRobust(_ClippedEstimator):
    """Doubly robust: the direct method corrected by importance-weighted residuals of the logged action."""

    name: ClassVar[str] = "dr"

    def estimate(self, log: LoggedFeedback, target_pmf: np.ndarray,
                 estimated_rewards: np.ndarray | None = None) -> Estimate:
        """Mean of dm_i + w_i (r_i - rhat_i) with a normal interval."""
        target_pmf, w, warnings = self._weighted(log, target_pmf, self.clip)
        rewards = self._needs_rewards(log, estimated_rewards)
        logged = rewards[np.arange(log.n_rounds), log.action]
        per_round = np.einsum("ij,ij->i", target_pmf, rewards) + w * (log.reward - logged)
        return self._result(log, *_mean_se(per_round), w, "normal", warnings)


ESTIMATORS: dict[str, type[Estimator]] = {
    cls.name: cls for cls in (Replay, IPS, SelfNormalizedIPS, DirectMethod, DoublyRobust)
}


def make_estimator(name: str, **settings: Any) -> Estimator:
    """An estimator by its short name (replay, ips, snips, dm, dr) with its settings."""
    try:
        cls = ESTIMATORS[name.strip().lower()]
    except KeyError:
        raise InvalidEstimatorError(
            f"unknown estimator {name!r}; choose from {', '.join(ESTIMATORS)}") from None
    fields = cls.__dataclass_fields__
    return cls(**{k: v for k, v in settings.items() if k in fields})
