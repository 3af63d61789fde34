"""Online simulation of policies side by side on the synthetic world."""
from __future__ import annotations

import numpy as np
import pytest

from bandit.baselines import EpsilonGreedyPolicy, UniformPolicy
from simulator.errors import SimulationError
from simulator.online import simulate


def _policies():
    return {"uniform": UniformPolicy(seed=1), "egreedy": EpsilonGreedyPolicy(epsilon=0.1, seed=1)}


def test_side_by_side_against_the_oracle(small_world):
    result = simulate(small_world, _policies(), 3000, seed=5, curve_points=50)
    assert result.rounds[-1] == 3000 and len(result.rounds) == 50
    by_name = {o.name: o for o in result.outcomes}
    oracle = result.oracle_take_rate[-1]
    for o in result.outcomes:
        assert np.all(np.diff(o.regret) >= -1e-12)  # expected regret only grows
        assert o.expected_take_rate[-1] <= oracle
    assert by_name["egreedy"].final_regret < by_name["uniform"].final_regret
    rows = {r["policy"]: r for r in result.summary()}
    assert rows["uniform"]["regret_per_round"] == pytest.approx(by_name["uniform"].final_regret / 3000)


def test_simulation_is_reproducible(small_world):
    a = simulate(small_world, _policies(), 300, seed=9)
    b = simulate(small_world, _policies(), 300, seed=9)
    assert [o.take_rate.tolist() for o in a.outcomes] == [o.take_rate.tolist() for o in b.outcomes]


def test_bad_settings(small_world):
    with pytest.raises(SimulationError, match="no policies"):
        simulate(small_world, {}, 10)
    with pytest.raises(SimulationError, match="rounds 0 must be at least 1"):
        simulate(small_world, _policies(), 0)
