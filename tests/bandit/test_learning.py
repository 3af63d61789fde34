"""VW really learns: on a seeded world it clearly beats uniform and the default artwork."""
from __future__ import annotations

import numpy as np

from artwork.reward_mapping import RewardMapping
from bandit import DefaultArtworkPolicy, UniformPolicy, VWPolicy
from simulator.world import World, WorldConfig


def _expected_take(policy, world, n, seed):
    """Mean exact play probability of the policy's choices over the second half of the run."""
    rng, reward_of = np.random.default_rng(seed + 1), RewardMapping()
    takes = []
    for imp in world.impressions(n, seed):
        d = policy.decide(imp.context, imp.actions)
        takes.append(world.expected_reward(imp, d.chosen))
        policy.learn(imp.context, imp.actions, d, reward_of(world.feedback(imp, d.chosen, rng)))
    return float(np.mean(takes[n // 2 :]))


def test_vw_beats_uniform_and_default_after_a_few_thousand_decisions():
    world = World(WorldConfig(n_users=300, n_titles=8, artworks_per_title=6, seed=11))
    n = 4000
    vw = _expected_take(VWPolicy(seed=1), world, n, seed=2)
    uniform = _expected_take(UniformPolicy(seed=1), world, n, seed=2)
    default = _expected_take(DefaultArtworkPolicy(seed=1), world, n, seed=2)
    assert vw > 1.25 * uniform
    assert vw > 1.25 * default
