"""Online simulation: several policies served side by side on the same synthetic traffic."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from tqdm import tqdm

from bandit.policy import Policy
from artwork.reward_mapping import RewardMapping, engaged

from simulator.errors import SimulationError
from simulator.world import World

__all__ = ["PolicyOutcome", "SimulationResult", "simulate"]


@dataclass(frozen=True)
class PolicyOutcome:
    """One policy's run: running take rates and cumulative regret at the checkpoints."""

    name: str
    take_rate: np.ndarray
    expected_take_rate: np.ndarray
    regret: np.ndarray

    @property
    def final_take_rate(self) -> float:
        """Observed take rate over the whole run."""
        return float(self.take_rate[-1])

    @property
    def final_regret(self) -> float:
        """Cumulative expected regret against the oracle at the end of the run."""
        return float(self.regret[-1])


@dataclass(frozen=True)
class SimulationResult:
    """Policies run side by side on one world: curves at `rounds` and the oracle's take rate."""

    rounds: np.ndarray
    oracle_take_rate: np.ndarray
    nonpersonalized_take_rate: np.ndarray
    outcomes: tuple[PolicyOutcome, ...]
    world_seed: int
    seed: int

    @property
    def n_rounds(self) -> int:
        """Rounds simulated."""
        return int(self.rounds[-1])

    def summary(self) -> list[dict[str, Any]]:
        """One row per policy: take rates against the oracle and regret."""
        oracle = float(self.oracle_take_rate[-1])
        rows = []
        for o in self.outcomes:
            rows.append({
                "policy": o.name,
                "take_rate": o.final_take_rate,
                "expected_take_rate": float(o.expected_take_rate[-1]),
                "oracle_take_rate": oracle,
                "best_nonpersonalized_take_rate": float(self.nonpersonalized_take_rate[-1]),
                "regret": o.final_regret,
                "regret_per_round": o.final_regret / self.n_rounds,
                "fraction_of_oracle": float(o.expected_take_rate[-1]) / oracle if oracle > 0 else float("nan"),
            })
        return rows


def simulate(world: World, policies: Mapping[str, Policy], n_rounds: int, seed: int = 0,
             *, progress: bool = False, curve_points: int = 200) -> SimulationResult:
    """Serve the same `n_rounds` impressions to every policy; each learns from its own feedback.

    Regret is expected regret: the oracle's play probability minus that of the chosen artwork,
    summed over rounds (exact, so it does not carry the reward noise).
    """
    if not policies:
        raise SimulationError("no policies to simulate")
    if n_rounds < 1:
        raise SimulationError(f"rounds {n_rounds!r} must be at least 1")
    names = list(policies)
    traffic = np.random.default_rng([seed, 0])
    noise = [np.random.default_rng([seed, 1, i]) for i in range(len(names))]
    mapping = RewardMapping()
    reward = np.zeros((len(names), n_rounds))
    expected = np.zeros((len(names), n_rounds))
    oracle = np.zeros(n_rounds)
    nonpersonalized = np.zeros(n_rounds)
    for t in tqdm(range(n_rounds), desc="simulate", disable=not progress, unit="round"):
        imp = world.impression(traffic)
        q = world.take_probabilities(imp)
        oracle[t] = q.max()
        nonpersonalized[t] = q[world.best_nonpersonalized(imp.title)]
        for p, name in enumerate(names):
            policy = policies[name]
            decision = policy.decide(imp.context, imp.actions, event_id=f"{t}")
            kinds = world.feedback(imp, decision.chosen, noise[p])
            value = mapping(kinds)
            policy.learn(imp.context, imp.actions, decision, value, engaged(kinds))
            reward[p, t] = value
            expected[p, t] = q[decision.chosen]
    points = np.unique(np.linspace(1, n_rounds, min(curve_points, n_rounds)).astype(np.int64))
    steps = np.arange(1, n_rounds + 1)

    def running(x: np.ndarray) -> np.ndarray:
        return (np.cumsum(x) / steps)[points - 1]

    outcomes = tuple(
        PolicyOutcome(name, running(reward[p]), running(expected[p]), np.cumsum(oracle - expected[p])[points - 1])
        for p, name in enumerate(names)
    )
    return SimulationResult(points, running(oracle), running(nonpersonalized), outcomes,
                            world.config.seed, seed)
