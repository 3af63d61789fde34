"""Logged feedback drawn from the synthetic world, with the exact expected reward of every candidate."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from tqdm import tqdm

from bandit.policy import Policy
from artwork.reward_mapping import RewardMapping, engaged
from bandit.types import Action, Context

from simulator.errors import SimulationError
from simulator.logs import LoggedFeedback
from simulator.world import World

__all__ = ["SyntheticLog", "context_json", "log_from_world", "world_catalog"]


def context_json(context: Context) -> str:
    """The logged context object of a Context, as the serving layer stores it (JSON text)."""
    data = context.to_dict()
    return json.dumps({k: data[k] for k in ("features", "genre_affinity", "title_genres")}, sort_keys=True)


def world_catalog(world: World) -> dict[str, Action]:
    """Every artwork of the world by id, with its features and default flag."""
    return {a.id: a for title in world.actions for a in title}


@dataclass(frozen=True, eq=False)
class SyntheticLog:
    """A log drawn from a World, with the exact expected reward (play probability) of every candidate."""

    log: LoggedFeedback
    expected_reward: np.ndarray
    catalog: Mapping[str, Action]

    def true_value(self, target_pmf: np.ndarray) -> float:
        """The exact expected reward of a policy with pmf `target_pmf` on the logged contexts."""
        return float(np.einsum("ij,ij->i", np.asarray(target_pmf, dtype=np.float64), self.expected_reward).mean())


def log_from_world(world: World, policy: Policy, n_rounds: int, seed: int | np.random.Generator,
                   *, learn: bool = False, progress: bool = False) -> SyntheticLog:
    """Serve `n_rounds` impressions with `policy` (learning online if `learn`) and log them like the store.

    The reward is 1 for a play (the default RewardMapping); its expectation is the world's take probability.
    """
    if n_rounds < 1:
        raise SimulationError(f"n_rounds {n_rounds!r} must be at least 1")
    rng = np.random.default_rng(seed)
    width = world.config.artworks_per_title
    mapping = RewardMapping()
    action = np.empty(n_rounds, dtype=np.int64)
    reward = np.empty(n_rounds)
    pmf = np.zeros((n_rounds, width))
    truth = np.zeros((n_rounds, width))
    names: list[str] = []
    index: dict[str, int] = {}
    candidates = np.full((n_rounds, width), -1, dtype=np.int64)
    contexts = np.empty(n_rounds, dtype=object)
    users = np.empty(n_rounds, dtype=object)
    titles = np.empty(n_rounds, dtype=object)
    event_ids = np.empty(n_rounds, dtype=object)
    for i in tqdm(range(n_rounds), desc=f"log {policy.name}", disable=not progress, unit="ev"):
        imp = world.impression(rng)
        decision = policy.decide(imp.context, imp.actions, event_id=f"ev{i:08d}")
        kinds = world.feedback(imp, decision.chosen, rng)
        value = mapping(kinds)
        if learn:
            policy.learn(imp.context, imp.actions, decision, value, engaged(kinds))
        k = len(imp.actions)
        for j, a in enumerate(imp.actions):
            candidates[i, j] = index.setdefault(a.id, len(index))
            if len(index) > len(names):
                names.append(a.id)
        action[i], reward[i] = decision.chosen, value
        pmf[i, :k] = decision.pmf
        truth[i, :k] = world.take_probabilities(imp)
        contexts[i] = context_json(imp.context)
        users[i], titles[i], event_ids[i] = imp.context.user_id, imp.context.title_id, decision.event_id
    log = LoggedFeedback(
        action=action, reward=reward, pscore=pmf[np.arange(n_rounds), action], candidates=candidates,
        action_names=tuple(names), pmf=pmf, context=contexts, timestamp=np.arange(n_rounds, dtype=np.float64),
        event_id=event_ids, user_id=users, title_id=titles,
    )
    return SyntheticLog(log, truth, world_catalog(world))
