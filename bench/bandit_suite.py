"""The bandit benchmark's runs: policies on the realistic worlds, measured against the world's truth.

Each run serves one world's stream of impressions to one policy, which learns from its own
sampled feedback. Every measure uses the world's exact play probabilities, not the sampled
plays, so the figures carry no reward noise:

- headroom share: (policy - best static) / (oracle - best static), over the whole run, where
  the best static artwork of a title is the one with the highest mean play probability over
  the title's impressions (before and after the mid-run uploads, separately);
- regret: plays lost to the oracle per 1,000 impressions;
- low-traffic tier: the titles that together receive the least-served 20% of impressions,
  with the policy's take rate minus the best static artwork's there;
- new uploads: on titles that received artworks mid-run, the share of their impressions
  that went to the new ones, beside the oracle's share;
- offline evaluation: from what the run logged (the pmf of every decision), the standard
  error of the IPS estimate of the uniform policy and of the default artwork, which is what
  the probability floor buys.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artwork.reward_mapping import RewardMapping  # noqa: E402
from bandit.policy import Policy  # noqa: E402
from bandit.specs import parse_policy_spec  # noqa: E402
from simulator.realistic_world import RealisticWorld, suite_world  # noqa: E402

from reference_policy import BayesianThompsonPolicy  # noqa: E402

FLOOR = 0.01  # the serving default
LOW_TRAFFIC = 0.2  # the tier of titles with the least-served share of impressions

# name -> how to build it for a seed. The served default (vw:igw) learns under the serving
# defaults: a floor starting at FLOOR and adapting down to 0.002 with a title's traffic.
POLICIES: dict[str, Callable[[int], Policy]] = {
    "vw:igw": lambda s: parse_policy_spec(f"vw:igw,floor={FLOOR},floor_min=0.002").build(s),
    "vw:squarecb": lambda s: parse_policy_spec(f"vw:squarecb,floor={FLOOR}").build(s),
    "reference": lambda s: BayesianThompsonPolicy(prior_variance=0.01, spread=0.3, draws=16,
                                                  floor=FLOOR, seed=s),
    "thompson": lambda s: parse_policy_spec(f"thompson,floor={FLOOR}").build(s),
    "egreedy:0.1": lambda s: parse_policy_spec(f"egreedy:0.1,floor={FLOOR}").build(s),
    "default": lambda s: parse_policy_spec(f"default:0,floor={FLOOR}").build(s),
    "uniform": lambda s: parse_policy_spec("uniform").build(s),
}
# The floor schedules compared for the served policy: their cost in headroom beside what
# they buy in offline-evaluation precision.
FLOORS: dict[str, Callable[[int], Policy]] = {
    "fixed 0.01": lambda s: parse_policy_spec("vw:igw,floor=0.01,floor_min=0.01").build(s),
    "adaptive 0.01 -> 0.002": POLICIES["vw:igw"],
    "fixed 0.002": lambda s: parse_policy_spec("vw:igw,floor=0.002,floor_min=0.002").build(s),
}


@dataclass(frozen=True)
class RunResult:
    """One policy on one world and seed."""

    share: float
    regret: float  # plays lost to the oracle per 1,000 impressions
    low_share: float
    low_diff: float  # take rate minus the best static artwork's, on the low-traffic tier
    new_share: float  # share of impressions of uploaded-to titles that went to the uploads
    new_oracle: float  # the oracle's share there
    ips_se_uniform: float
    ips_se_default: float
    decisions_per_second: float


def _share(policy: np.ndarray, static: np.ndarray, oracle: np.ndarray) -> float:
    return float((policy.mean() - static.mean()) / (oracle.mean() - static.mean()))


def run(world: RealisticWorld, policy: Policy, n: int, seed: int) -> RunResult:
    """Serve `n` impressions of `world` to `policy`, learning online; the run's measures."""
    import time

    traffic, noise = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    reward_of = RewardMapping()
    chosen, oracle, title = np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
    takes: list[np.ndarray] = []
    new_chosen, new_best, has_new = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    w_uniform, w_default, reward = np.empty(n), np.empty(n), np.empty(n)
    started = time.perf_counter()
    for t in range(n):
        imp = world.impression(traffic, t)
        q = world.take_probabilities(imp)
        d = policy.decide(imp.context, imp.actions)
        r = reward_of(world.feedback(imp, d.chosen, noise))
        policy.learn(imp.context, imp.actions, d, r)
        chosen[t], oracle[t], title[t], reward[t] = q[d.chosen], q.max(), imp.title, r
        takes.append(q)
        # IPS weights of the uniform policy and of the default artwork on this decision.
        w_uniform[t] = (1.0 / len(imp.actions)) / d.probability
        w_default[t] = float(imp.actions[d.chosen].is_default) / d.probability
        new = world.new_artworks(imp)
        if new.any():
            has_new[t], new_chosen[t], new_best[t] = True, new[d.chosen], new[q.argmax()]
    seconds = time.perf_counter() - started
    phase = np.arange(n) >= world.config.upload_at * n
    static = np.empty(n)
    for key in set(zip(title.tolist(), phase.tolist())):
        rows = np.flatnonzero((title == key[0]) & (phase == key[1]))
        matrix = np.array([takes[i] for i in rows])
        static[rows] = matrix[:, matrix.mean(axis=0).argmax()]
    counts = np.bincount(title)
    order = np.argsort(counts, kind="stable")  # least-served first
    low_titles = order[np.cumsum(counts[order]) <= LOW_TRAFFIC * n]
    low = np.isin(title, low_titles)
    return RunResult(
        share=_share(chosen, static, oracle),
        regret=float((oracle - chosen).mean() * 1000),
        low_share=_share(chosen[low], static[low], oracle[low]) if low.any() else float("nan"),
        low_diff=float(chosen[low].mean() - static[low].mean()) if low.any() else float("nan"),
        new_share=float(new_chosen[has_new].mean()) if has_new.any() else float("nan"),
        new_oracle=float(new_best[has_new].mean()) if has_new.any() else float("nan"),
        ips_se_uniform=float((w_uniform * reward).std() / np.sqrt(n)),
        ips_se_default=float((w_default * reward).std() / np.sqrt(n)),
        decisions_per_second=n / seconds,
    )


def job(task: tuple[str, str, int, int, bool]) -> tuple[str, str, int, RunResult]:
    """One (world, policy, seed) run, for a process pool: (world, policy, seed, result)."""
    world_name, policy_name, seed, n, floors = task
    factory = (FLOORS if floors else POLICIES)[policy_name]
    world = suite_world(world_name, seed, n)
    return world_name, policy_name, seed, run(world, factory(seed), n, seed + 1000)
