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

Besides the policies, `full_information_run` gives the served model's ceiling on a world.
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import vowpalwabbit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artwork.reward_mapping import RewardMapping, engaged  # noqa: E402
from bandit.features import ActionLineCache  # noqa: E402
from bandit.new_art import FairExposure  # noqa: E402
from bandit.policy import Policy  # noqa: E402
from bandit.specs import parse_policy_spec  # noqa: E402
from simulator.realistic_world import RealisticWorld, suite_world  # noqa: E402
from simulator.world import Impression  # noqa: E402

from reference_policy import BayesianThompsonPolicy  # noqa: E402

FLOOR = 0.01  # the serving default
SERVED = "vw:igw"
# The full-information learner's name in the results (see full_information_run).
FULL_INFORMATION = "full information"
LOW_TRAFFIC = 0.2  # the tier of titles with the least-served share of impressions

# name -> how to build it for a seed. The served default (vw:igw) learns under the serving
# defaults: a floor starting at FLOOR and adapting down to 0.002 with a title's traffic.
POLICIES: dict[str, Callable[[int], Policy]] = {
    "vw:igw": lambda s: parse_policy_spec(f"vw:igw,floor={FLOOR},floor_min=0.002").build(s),
    # The same without the funnel: one model of the play alone (the served default before it).
    "vw:igw-play-only": lambda s: parse_policy_spec(
        f"vw:igw,floor={FLOOR},floor_min=0.002,funnel=false").build(s),
    # As serving runs it: with the fair exposure every new artwork gets by default.
    "vw:igw+exposure": lambda s: _with_exposure(POLICIES["vw:igw"](s)),
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


def _with_exposure(policy: Policy) -> Policy:
    """The policy with the default fair exposure for new artworks (serving's default too)."""
    policy.exposure = FairExposure()
    return policy


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
    traffic, noise = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    reward_of = RewardMapping()
    trace = _Trace(world, n)
    w_uniform, w_default, reward = np.empty(n), np.empty(n), np.empty(n)
    # With fair exposure, artworks uploaded during the run are new until they have had the
    # exposure's impressions (the run is shorter than its window).
    exposure, shown = policy.exposure, Counter[str]()
    started = time.perf_counter()
    for t in range(n):
        imp = world.impression(traffic, t)
        q = world.take_probabilities(imp)
        new_ids = () if exposure is None else [
            a.id for a, new in zip(imp.actions, world.new_artworks(imp))
            if new and shown[a.id] < exposure.impressions]
        d = policy.decide(imp.context, imp.actions, new_artworks=new_ids)
        shown[d.action_id] += 1
        kinds = world.feedback(imp, d.chosen, noise)
        r = reward_of(kinds)
        policy.learn(imp.context, imp.actions, d, r, engaged(kinds))
        trace.record(t, imp, q, d.chosen)
        reward[t] = r
        # IPS weights of the uniform policy and of the default artwork on this decision.
        w_uniform[t] = (1.0 / len(imp.actions)) / d.probability
        w_default[t] = float(imp.actions[d.chosen].is_default) / d.probability
    seconds = time.perf_counter() - started
    return trace.result(ips_se_uniform=float((w_uniform * reward).std() / np.sqrt(n)),
                        ips_se_default=float((w_default * reward).std() / np.sqrt(n)),
                        decisions_per_second=n / seconds)


def full_information_run(world: RealisticWorld, n: int, seed: int) -> RunResult:
    """What the served policy's model reaches when it sees every artwork's outcome, greedily.

    Not a policy anyone can serve: on every impression the learner is told whether each live
    artwork would have been played (a draw from the world for each), so it never explores and
    gets as many outcomes as there are candidates. The same features and crosses as the served
    policy, learned by Vowpal Wabbit as a plain logistic regression. Its headroom share is a
    ceiling for any bandit with this model: a bandit sees one outcome per impression and pays
    for its exploration.
    """
    settings = POLICIES[SERVED](seed).vw_settings
    space = settings.features
    workspace = vowpalwabbit.Workspace(arg_list=[
        "--quiet", "--loss_function", "logistic", "-l", str(settings.learning_rate),
        "--power_t", str(settings.power_t), "-b", str(settings.bits), *space.vw_args()])
    action_lines = ActionLineCache(space)
    traffic, noise = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    trace = _Trace(world, n)
    started = time.perf_counter()
    for t in range(n):
        imp = world.impression(traffic, t)
        q = world.take_probabilities(imp)
        shared = space.shared_line(imp.context).removeprefix("shared ")
        lines = [f"{shared} {line}" for line in action_lines.lines(imp.actions)]
        scores = [workspace.predict(line) for line in lines]
        trace.record(t, imp, q, int(np.argmax(scores)))
        for line, played in zip(lines, noise.random(len(lines)) < q):
            workspace.learn(f"{1 if played else -1} {line}")
    workspace.finish()
    return trace.result(ips_se_uniform=float("nan"), ips_se_default=float("nan"),
                        decisions_per_second=n / (time.perf_counter() - started))


class _Trace:
    """What a run served, impression by impression, and the measures it makes of it."""

    def __init__(self, world: RealisticWorld, n: int) -> None:
        self.world, self.n = world, n
        self.chosen, self.oracle = np.empty(n), np.empty(n)
        self.title = np.empty(n, dtype=np.int64)
        self.takes: list[np.ndarray] = []
        self.new_chosen, self.new_best = np.zeros(n), np.zeros(n)
        self.has_new = np.zeros(n, dtype=bool)

    def record(self, t: int, imp: Impression, q: np.ndarray, chosen: int) -> None:
        """Impression `t`: its take probabilities `q` and the artwork served."""
        self.chosen[t], self.oracle[t], self.title[t] = q[chosen], q.max(), imp.title
        self.takes.append(q)
        new = self.world.new_artworks(imp)
        if new.any():
            self.has_new[t], self.new_chosen[t], self.new_best[t] = True, new[chosen], new[q.argmax()]

    def result(self, **extra: float) -> RunResult:
        """The run's measures against the world's truth."""
        n, title, chosen, oracle = self.n, self.title, self.chosen, self.oracle
        phase = np.arange(n) >= self.world.config.upload_at * n
        static = np.empty(n)
        for key in set(zip(title.tolist(), phase.tolist())):
            rows = np.flatnonzero((title == key[0]) & (phase == key[1]))
            matrix = np.array([self.takes[i] for i in rows])
            static[rows] = matrix[:, matrix.mean(axis=0).argmax()]
        counts = np.bincount(title)
        order = np.argsort(counts, kind="stable")  # least-served first
        low = np.isin(title, order[np.cumsum(counts[order]) <= LOW_TRAFFIC * n])
        has_new = self.has_new
        return RunResult(
            share=_share(chosen, static, oracle),
            regret=float((oracle - chosen).mean() * 1000),
            low_share=_share(chosen[low], static[low], oracle[low]) if low.any() else float("nan"),
            low_diff=float(chosen[low].mean() - static[low].mean()) if low.any() else float("nan"),
            new_share=float(self.new_chosen[has_new].mean()) if has_new.any() else float("nan"),
            new_oracle=float(self.new_best[has_new].mean()) if has_new.any() else float("nan"),
            **extra,
        )


def job(task: tuple[str, str, int, int, bool]) -> tuple[str, str, int, RunResult]:
    """One (world, policy, seed) run, for a process pool: (world, policy, seed, result)."""
    world_name, policy_name, seed, n, floors = task
    world = suite_world(world_name, seed, n)
    if policy_name == FULL_INFORMATION:
        return world_name, policy_name, seed, full_information_run(world, n, seed + 1000)
    factory = (FLOORS if floors else POLICIES)[policy_name]
    return world_name, policy_name, seed, run(world, factory(seed), n, seed + 1000)
