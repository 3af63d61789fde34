"""Shared fixtures for bandit tests: a small synthetic world and every policy kind."""
from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from artwork.reward_mapping import RewardMapping
from bandit import (
    DefaultArtworkPolicy,
    EpsilonGreedyPolicy,
    Policy,
    ThompsonPolicy,
    UniformPolicy,
    VWPolicy,
    VWSettings,
)
from simulator.world import World, WorldConfig

FLOOR = 0.02

# Every policy the contract tests run through: name -> factory(seed).
POLICY_FACTORIES: dict[str, Callable[[int], Policy]] = {
    "vw-epsilon": lambda seed: VWPolicy(VWSettings(exploration="epsilon", cb_type="dr"), floor=FLOOR, seed=seed),
    "vw-softmax": lambda seed: VWPolicy(VWSettings(exploration="softmax", cb_type="ips"), floor=FLOOR, seed=seed),
    "vw-squarecb": lambda seed: VWPolicy(VWSettings(exploration="squarecb"), floor=FLOOR, seed=seed),
    "vw-bag": lambda seed: VWPolicy(VWSettings(exploration="bag", bag_size=3), floor=FLOOR, seed=seed),
    "vw-cover": lambda seed: VWPolicy(VWSettings(exploration="cover", cover_size=3), floor=FLOOR, seed=seed),
    "vw-igw": lambda seed: VWPolicy(VWSettings(exploration="igw", floor_min=0.005, floor_ramp=50),
                                    floor=FLOOR, seed=seed),
    "uniform": lambda seed: UniformPolicy(floor=FLOOR, seed=seed),
    "default": lambda seed: DefaultArtworkPolicy(epsilon=0.2, floor=FLOOR, seed=seed),
    "epsilon_greedy": lambda seed: EpsilonGreedyPolicy(epsilon=0.2, floor=FLOOR, seed=seed),
    "thompson": lambda seed: ThompsonPolicy(grid=128, floor=FLOOR, seed=seed),
}


@pytest.fixture(scope="session")
def small_world() -> World:
    """A small seeded world: 60 users, 6 titles of 5 artworks."""
    return World(WorldConfig(n_users=60, n_titles=6, artworks_per_title=5, seed=7))


@pytest.fixture(params=sorted(POLICY_FACTORIES))
def make_policy(request: pytest.FixtureRequest) -> Callable[[int], Policy]:
    """Factory(seed) of each policy kind in turn."""
    return POLICY_FACTORIES[request.param]


def _play(policy: Policy, world: World, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed + 1)
    reward_of = RewardMapping()
    decisions = []
    for imp in world.impressions(n, seed):
        decision = policy.decide(imp.context, imp.actions)
        policy.learn(imp.context, imp.actions, decision, reward_of(world.feedback(imp, decision.chosen, rng)))
        decisions.append(decision)
    return decisions


@pytest.fixture
def play() -> Callable[..., list]:
    """play(policy, world, n, seed): run a policy on a world, learning from sampled feedback."""
    return _play
