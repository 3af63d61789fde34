"""Baseline policies: uniform, the title's default artwork, and per-(title, artwork) ε-greedy and Thompson."""
from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from bandit.errors import InvalidPolicyError, SnapshotError
from bandit.exploration import DEFAULT_FLOOR
from bandit.policy import Policy
from bandit.types import Action, Context, Decision


def _check_epsilon(epsilon: float) -> float:
    value = float(epsilon)
    if not 0.0 <= value <= 1.0:
        raise InvalidPolicyError(f"epsilon {epsilon!r} must be in [0, 1]; use e.g. 0.1")
    return value


class _Stateless(Policy):
    """A policy that learns nothing: its state is empty."""

    def _learn(self, context: Context, actions: tuple[Action, ...], decision: Decision, reward: float,
               engaged: bool | None) -> None:
        pass

    def _state(self) -> bytes:
        return b"{}"

    def _restore(self, data: bytes) -> None:
        pass


class _EpsilonExplorer:
    """Shared by the ε policies: the ε setting and the ε-mixed pmf."""

    epsilon: float

    def settings(self) -> dict[str, Any]:
        """Exploration rate."""
        return {"epsilon": self.epsilon}

    def _epsilon_pmf(self, n: int, best: Sequence[int]) -> list[float]:
        """1-ε shared by the ``best`` indices, ε spread over all ``n``."""
        pmf = [self.epsilon / n] * n
        for i in best:
            pmf[i] += (1.0 - self.epsilon) / len(best)
        return pmf


class UniformPolicy(_Stateless):
    """Every candidate with the same probability; learns nothing."""

    kind = "uniform"

    def __init__(self, *, name: str = "uniform", floor: float = DEFAULT_FLOOR, seed: int | None = 0) -> None:
        super().__init__(name=name, floor=floor, seed=seed)

    def settings(self) -> dict[str, Any]:
        """No settings."""
        return {}

    def _pmf(self, context: Context, actions: tuple[Action, ...]) -> Sequence[float]:
        return (1.0 / len(actions),) * len(actions)


class DefaultArtworkPolicy(_EpsilonExplorer, _Stateless):
    """The title's default artwork (the candidate flagged ``is_default``, else the first) with ε exploration."""

    kind = "default"

    def __init__(
        self, *, epsilon: float = 0.1, name: str = "default", floor: float = DEFAULT_FLOOR, seed: int | None = 0
    ) -> None:
        super().__init__(name=name, floor=floor, seed=seed)
        self.epsilon = _check_epsilon(epsilon)

    def _pmf(self, context: Context, actions: tuple[Action, ...]) -> Sequence[float]:
        default = next((i for i, a in enumerate(actions) if a.is_default), 0)
        return self._epsilon_pmf(len(actions), [default])


class _TakeRatePolicy(Policy):
    """Shared bookkeeping: per (title, artwork) number of decisions and summed reward."""

    def __init__(self, *, name: str, floor: float, seed: int | None) -> None:
        super().__init__(name=name, floor=floor, seed=seed)
        self._counts: dict[str, dict[str, list[float]]] = {}

    def _stats(self, context: Context, actions: tuple[Action, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(decisions, reward sums) per candidate for this title."""
        title = self._counts.get(context.title_id, {})
        n = np.zeros(len(actions))
        total = np.zeros(len(actions))
        for i, action in enumerate(actions):
            entry = title.get(action.id)
            if entry is not None:
                n[i], total[i] = entry
        return n, total

    def _learn(self, context: Context, actions: tuple[Action, ...], decision: Decision, reward: float,
               engaged: bool | None) -> None:
        title = self._counts.setdefault(context.title_id, {})
        entry = title.setdefault(decision.action_ids[decision.chosen], [0.0, 0.0])
        entry[0] += 1.0
        entry[1] += reward

    def _state(self) -> bytes:
        return json.dumps({"counts": self._counts}, sort_keys=True).encode()

    def _restore(self, data: bytes) -> None:
        try:
            counts = json.loads(data.decode())["counts"]
            self._counts = {
                str(t): {str(a): [float(v[0]), float(v[1])] for a, v in arts.items()}
                for t, arts in counts.items()
            }
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise SnapshotError(
                f"{self.kind} state is not the JSON counts this policy writes ({exc}); "
                "load a snapshot written by the same kind of policy"
            ) from None


class EpsilonGreedyPolicy(_EpsilonExplorer, _TakeRatePolicy):
    """Per (title, artwork) take rate; the best artwork with prob. 1-ε, uniform with ε.

    Unseen artworks start at an optimistic take rate of 1 (one pseudo-success), so each is tried.
    """

    kind = "epsilon_greedy"

    def __init__(
        self, *, epsilon: float = 0.1, name: str = "epsilon_greedy", floor: float = DEFAULT_FLOOR, seed: int | None = 0
    ) -> None:
        super().__init__(name=name, floor=floor, seed=seed)
        self.epsilon = _check_epsilon(epsilon)

    def _pmf(self, context: Context, actions: tuple[Action, ...]) -> Sequence[float]:
        n, total = self._stats(context, actions)
        rate = (total + 1.0) / (n + 1.0)
        return self._epsilon_pmf(len(actions), np.flatnonzero(rate >= rate.max() - 1e-12).tolist())


class ThompsonPolicy(_TakeRatePolicy):
    """Per (title, artwork) Beta-Bernoulli Thompson sampling (rewards clipped to [0, 1]).

    The pmf is the exact probability that each artwork's posterior draw is the largest,
    integrated on a grid of ``grid`` points around the posteriors; the choice is then drawn
    from that pmf, which is Thompson sampling with a logged probability that is exact and
    the same after a snapshot is reloaded.
    """

    kind = "thompson"

    def __init__(
        self,
        *,
        grid: int = 128,
        prior: tuple[float, float] = (1.0, 1.0),
        name: str = "thompson",
        floor: float = DEFAULT_FLOOR,
        seed: int | None = 0,
    ) -> None:
        super().__init__(name=name, floor=floor, seed=seed)
        if int(grid) < 16:
            raise InvalidPolicyError(f"grid {grid!r} must be at least 16 points; use e.g. 128")
        if len(prior) != 2 or min(prior) <= 0:
            raise InvalidPolicyError(f"prior {prior!r} must be two positive numbers (alpha, beta)")
        self.grid = int(grid)
        self.prior = (float(prior[0]), float(prior[1]))

    def settings(self) -> dict[str, Any]:
        """Grid size and prior."""
        return {"grid": self.grid, "prior": list(self.prior)}

    def _pmf(self, context: Context, actions: tuple[Action, ...]) -> Sequence[float]:
        n, total = self._stats(context, actions)
        return probability_of_best(self.prior[0] + total, self.prior[1] + n - total, self.grid).tolist()

    def _learn(self, context: Context, actions: tuple[Action, ...], decision: Decision, reward: float,
               engaged: bool | None) -> None:
        super()._learn(context, actions, decision, min(max(reward, 0.0), 1.0), engaged)


def probability_of_best(alpha: np.ndarray, beta: np.ndarray, grid: int = 128) -> np.ndarray:
    """P(draw i is the largest) for independent Beta(alpha_i, beta_i), integrated on a grid."""
    mean = alpha / (alpha + beta)
    sd = np.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1.0)))
    lo = max(0.0, float((mean - 10.0 * sd).min()))
    hi = min(1.0, float((mean + 10.0 * sd).max()))
    x = lo + (np.arange(grid) + 0.5) * ((hi - lo) / grid)
    logpdf = (alpha[:, None] - 1.0) * np.log(x) + (beta[:, None] - 1.0) * np.log1p(-x)
    weight = np.exp(logpdf - logpdf.max(axis=1, keepdims=True))
    weight /= weight.sum(axis=1, keepdims=True)
    cdf = np.cumsum(weight, axis=1) - 0.5 * weight
    # Product of the other arms' CDFs, from prefix and suffix products (no division by 0).
    ones = np.ones((1, grid))
    before = np.cumprod(np.vstack([ones, cdf[:-1]]), axis=0)
    after = np.cumprod(np.vstack([ones, cdf[:0:-1]]), axis=0)[::-1]
    others = before * after
    best = (weight * others).sum(axis=1)
    return best / best.sum()
