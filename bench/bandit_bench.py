"""Bandit benchmark: take rates on the default synthetic world, and decision speed against VW's own.

Every policy meets the same seeded stream of impressions and the same random draws for
feedback (common random numbers); a policy's take rate is the exact play probability of the
artworks it chose (the world knows it), with the sampled plays printed alongside.

    python bench/bandit_bench.py                  # 100,000 decisions, a few minutes
    python bench/bandit_bench.py --decisions 20000 --last 5000

Output lines: ``name | figure | target | ok/FAIL`` (target ``-`` for figures without one).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vowpalwabbit  # noqa: E402

from artwork.reward_mapping import RewardMapping  # noqa: E402
from bandit import (  # noqa: E402
    DefaultArtworkPolicy,
    EpsilonGreedyPolicy,
    Policy,
    ThompsonPolicy,
    UniformPolicy,
    VWPolicy,
    VWSettings,
)
from bandit.features import with_label  # noqa: E402
from simulator.world import World, WorldConfig  # noqa: E402


def line(name: str, figure: str, target: str = "-", ok: bool | None = None) -> None:
    """Print one result line."""
    status = "-" if ok is None else ("ok" if ok else "FAIL")
    print(f"{name} | {figure} | {target} | {status}", flush=True)


def truth(world: World, n: int, seed: int) -> dict[str, np.ndarray]:
    """Per decision of the stream: take probabilities, the oracle's and the best fixed artwork's."""
    takes = np.array([world.take_probabilities(imp) for imp in tqdm(world.impressions(n, seed), total=n, desc="truth", leave=False, file=sys.stderr)])
    titles = np.array([imp.title for imp in world.impressions(n, seed)])
    best = np.array([world.best_nonpersonalized(t) for t in range(world.config.n_titles)])[titles]
    return {"take": takes, "oracle": takes.max(axis=1), "best_fixed": takes[np.arange(n), best]}


def run_policy(policy: Policy, world: World, n: int, seed: int, takes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run the stream through ``policy``; returns (exact take of each choice, sampled play 0/1)."""
    feedback_rng = np.random.default_rng(seed + 1)
    reward_of = RewardMapping()
    expected, played = np.empty(n), np.empty(n)
    stream = tqdm(world.impressions(n, seed), total=n, desc=policy.name, leave=False, file=sys.stderr)
    for k, imp in enumerate(stream):
        d = policy.decide(imp.context, imp.actions)
        reward = reward_of(world.feedback(imp, d.chosen, feedback_rng))
        policy.learn(imp.context, imp.actions, d, reward)
        expected[k], played[k] = takes[k, d.chosen], reward
    return expected, played


def speed(trained: VWPolicy, settings: VWSettings, floor: float, world: World, n: int, seed: int, rounds: int) -> dict[str, float]:
    """Decisions per second: our decide (+learn) against VW predict (+learn) on the same text examples."""
    state = trained.state()
    tmp = tempfile.TemporaryDirectory(prefix="bandit-bench-")
    model_path = Path(tmp.name) / "model.vw"
    model_path.write_bytes(state)
    impressions = list(world.impressions(n, seed))
    rng = np.random.default_rng(seed)
    rewards = (rng.random(n) < 0.3).astype(float)
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = max(best.get(name, 0.0), n / seconds)

    for _ in range(rounds):
        # VW alone: the example text is built beforehand, only predict (and learn) are timed.
        reference = VWPolicy(settings, floor=floor, seed=seed)
        reference.restore(state)
        examples = [reference.example(imp.context, imp.actions) for imp in impressions]
        workspace = vowpalwabbit.Workspace(arg_list=["--quiet", "-i", str(model_path)])
        start = time.perf_counter()
        for lines in examples:
            workspace.predict(lines)
        keep("vw_predict", time.perf_counter() - start)
        labeled = [with_label(lines, 0, r, 0.5) for lines, r in zip(examples, rewards)]
        start = time.perf_counter()
        for lines, lab in zip(examples, labeled):
            workspace.predict(lines)
            workspace.learn(lab)
        keep("vw_predict_learn", time.perf_counter() - start)
        workspace.finish()

        ours = VWPolicy(settings, floor=floor, seed=seed)
        ours.restore(state)
        start = time.perf_counter()
        for imp in impressions:
            ours.decide(imp.context, imp.actions)
        keep("decide", time.perf_counter() - start)
        ours.restore(state)
        start = time.perf_counter()
        for imp, r in zip(impressions, rewards):
            d = ours.decide(imp.context, imp.actions)
            ours.learn(imp.context, imp.actions, d, r)
        keep("decide_learn", time.perf_counter() - start)
    tmp.cleanup()
    return best


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000, help="decisions per policy (default 100000)")
    parser.add_argument("--last", type=int, default=20_000, help="window for the headroom target (default 20000)")
    parser.add_argument("--floor", type=float, default=0.002, help="probability floor of every policy (default 0.002)")
    parser.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    parser.add_argument("--speed-decisions", type=int, default=3000, help="decisions per speed round (default 3000)")
    parser.add_argument("--speed-rounds", type=int, default=3, help="speed rounds, best kept (default 3)")
    args = parser.parse_args(argv)
    n, last = args.decisions, min(args.last, args.decisions)
    window = slice(n - last, n)

    world = World(WorldConfig(seed=args.seed))
    cfg = world.config
    print(
        f"# world: {cfg.n_users} users, {cfg.n_titles} titles x {cfg.artworks_per_title} artworks, "
        f"observability {cfg.observability}, seed {cfg.seed}; {n} decisions, floor {args.floor}",
        flush=True,
    )
    stream_seed = args.seed + 1000
    gt = truth(world, n, stream_seed)
    settings = VWSettings()
    policies: list[Policy] = [
        VWPolicy(settings, floor=args.floor, seed=1),
        ThompsonPolicy(floor=args.floor, seed=1),
        EpsilonGreedyPolicy(floor=args.floor, seed=1),
        DefaultArtworkPolicy(floor=args.floor, seed=1),
        UniformPolicy(floor=args.floor, seed=1),
    ]
    takes: dict[str, float] = {}
    start_all = time.perf_counter()
    for policy in policies:
        start = time.perf_counter()
        expected, played = run_policy(policy, world, n, stream_seed, gt["take"])
        takes[policy.name] = float(expected[window].mean())
        line(f"take rate {policy.name} (all {n})", f"{expected.mean():.4f} (sampled {played.mean():.4f})")
        line(
            f"take rate {policy.name} (last {last})",
            f"{expected[window].mean():.4f} (sampled {played[window].mean():.4f}; {n / (time.perf_counter() - start):.0f} decisions/s with world)",
        )
    oracle, fixed = float(gt["oracle"][window].mean()), float(gt["best_fixed"][window].mean())
    line(f"take rate oracle (last {last})", f"{oracle:.4f}")
    line(f"take rate best non-personalized (last {last})", f"{fixed:.4f}")
    capture = (takes["vw"] - fixed) / (oracle - fixed)
    line(f"vw share of headroom best non-personalized -> oracle (last {last})", f"{capture:.3f}", ">= 0.60", capture >= 0.60)
    line(f"vw minus thompson take rate (last {last})", f"{takes['vw'] - takes['thompson']:+.4f}", "> 0", takes["vw"] > takes["thompson"])
    print(f"# learning runs took {time.perf_counter() - start_all:.0f} s", flush=True)

    rates = speed(policies[0], settings, args.floor, world, args.speed_decisions, stream_seed + 1, args.speed_rounds)  # type: ignore[arg-type]
    line("vw predict on prebuilt text, examples/s", f"{rates['vw_predict']:.0f}")
    line("our decide, decisions/s", f"{rates['decide']:.0f}")
    line("our decide / vw predict", f"{rates['decide'] / rates['vw_predict']:.2f}", ">= 0.70", rates["decide"] / rates["vw_predict"] >= 0.70)
    line("vw predict+learn on prebuilt text, examples/s", f"{rates['vw_predict_learn']:.0f}")
    line("our decide+learn, decisions/s", f"{rates['decide_learn']:.0f}")
    ratio = rates["decide_learn"] / rates["vw_predict_learn"]
    line("our decide+learn / vw predict+learn", f"{ratio:.2f}", ">= 0.70", ratio >= 0.70)
    ok = capture >= 0.60 and takes["vw"] > takes["thompson"] and rates["decide"] / rates["vw_predict"] >= 0.70
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
