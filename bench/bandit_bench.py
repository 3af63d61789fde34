#!/usr/bin/env python3
"""Bandit benchmark: every policy on the suite of realistic worlds, against an outside reference.

For each world of `simulator.realistic_world.SUITE` and each seed, every policy serves the
same stream of impressions and learns from its own sampled feedback, at the serving default
floor of 0.01 (the served policy's floor then adapts to each title's traffic). The table
gives, per world and averaged over the seeds: the share of the headroom between the best
static artwork and the oracle that each policy captures, its regret, its standing on the
low-traffic tier and how much traffic it gives new uploads. The outside reference is
Bayesian Thompson sampling on the same features (bench/reference_policy.py). Beside them, the
served model's ceiling: the same model learned with full information (every artwork's outcome
on every impression, no exploration). Then the floor
schedules side by side (cost in headroom, offline-evaluation standard error), and decide
speed against Vowpal Wabbit's own predict on the same examples.

Prints `name | figure | target | ok/FAIL` lines (collected by bench/run_all).
"""
from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import vowpalwabbit  # noqa: E402

from bandit.features import with_label  # noqa: E402
from bandit.vw_policy import VWPolicy, model_bytes  # noqa: E402
from simulator.realistic_world import SUITE, suite_world  # noqa: E402

from bandit_suite import FLOORS, FULL_INFORMATION, POLICIES, SERVED, RunResult, job  # noqa: E402

TARGET_SHARE = 0.35


def line(name: str, figure: str, target: str = "-", ok: bool | None = None) -> None:
    """Print one result line."""
    status = "-" if ok is None else ("ok" if ok else "FAIL")
    print(f"{name} | {figure} | {target} | {status}", flush=True)


def _mean_se(values: list[float]) -> tuple[float, float]:
    arr = np.asarray([v for v in values if v == v], dtype=float)
    if not arr.size:
        return float("nan"), float("nan")
    se = float(arr.std(ddof=1) / np.sqrt(arr.size)) if arr.size > 1 else float("nan")
    return float(arr.mean()), se


def run_suite(worlds: list[str], names: list[str], seeds: list[int], n: int, jobs: int,
              floors: bool = False) -> dict[tuple[str, str, int], RunResult]:
    """Every (world, policy, seed) run, `jobs` at a time."""
    tasks = [(w, p, s, n, floors) for w, p, s in itertools.product(worlds, names, seeds)]
    # The slowest first, so the pool's last minutes are not one long run alone.
    tasks.sort(key=lambda t: t[1] not in ("reference", FULL_INFORMATION))
    results = {}
    with mp.get_context("spawn").Pool(jobs) as pool:
        for done, (w, p, s, result) in enumerate(pool.imap_unordered(job, tasks), 1):
            results[(w, p, s)] = result
            print(f"# {done}/{len(tasks)} {w} {p} seed {s}: share {result.share:+.3f}", file=sys.stderr,
                  flush=True)
    return results


def report_policies(results: dict, worlds: list[str], names: list[str], seeds: list[int]) -> bool:
    """Per world and policy lines, then the targets; True when every target is met."""
    ok = True
    served_shares, low_ok = [], True
    for world in worlds:
        for name in names:
            rs = [results[(world, name, s)] for s in seeds]
            share, share_se = _mean_se([r.share for r in rs])
            low, low_se = _mean_se([r.low_share for r in rs])
            new, oracle_new = _mean_se([r.new_share for r in rs])[0], _mean_se([r.new_oracle for r in rs])[0]
            line(f"{world}: {name} headroom share / regret / low-traffic share / new uploads",
                 f"{share:+.3f} ±{share_se:.3f} / {np.mean([r.regret for r in rs]):.2f} per 1k / "
                 f"{low:+.3f} ±{low_se:.3f} / {new:.2f} (oracle {oracle_new:.2f})")
        served = _mean_se([results[(world, SERVED, s)].share for s in seeds])[0]
        served_shares.append(served)
        if "reference" in names:
            reference = _mean_se([results[(world, "reference", s)].share for s in seeds])[0]
            beats = served > reference
            ok &= beats
            line(f"{world}: {SERVED} minus reference headroom share", f"{served - reference:+.3f}", "> 0",
                 beats)
        diff, diff_se = _mean_se([results[(world, SERVED, s)].low_diff for s in seeds])
        within = diff >= -2 * (diff_se if diff_se == diff_se else 0.0)
        low_ok &= within
        line(f"{world}: {SERVED} minus best static take rate, low-traffic tier",
             f"{diff:+.4f} (noise ±{2 * diff_se:.4f})", ">= -noise", within)
    average = float(np.mean(served_shares))
    if FULL_INFORMATION in names:
        ceiling = np.mean([results[(w, FULL_INFORMATION, s)].share for w in worlds for s in seeds])
        line(f"{FULL_INFORMATION} headroom share (sees every artwork's outcome; a ceiling for this model)",
             f"{ceiling:+.3f}")
    line(f"{SERVED} headroom share, average over the realistic worlds", f"{average:+.3f}",
         f">= {TARGET_SHARE}", average >= TARGET_SHARE)
    return ok and low_ok and average >= TARGET_SHARE


def report_floors(results: dict, worlds: list[str], seeds: list[int]) -> None:
    """The floor schedules: headroom they cost beside the offline-evaluation precision they buy."""
    for name in FLOORS:
        rs = [results[(w, name, s)] for w in worlds for s in seeds]
        line(f"floor {name}: headroom share / IPS std error of uniform / of the default artwork",
             f"{np.mean([r.share for r in rs]):+.3f} / {np.mean([r.ips_se_uniform for r in rs]):.4f} / "
             f"{np.mean([r.ips_se_default for r in rs]):.4f}")


def speed(world_name: str, n: int, rounds: int, seed: int = 0) -> dict[str, float]:
    """Decisions per second: our decide against VW's own predict on the same text examples."""
    world = suite_world(world_name, seed, n)
    rng = np.random.default_rng(seed)
    impressions = [world.impression(rng, t) for t in range(n)]
    trained = POLICIES[SERVED](seed)
    for imp in impressions:
        d = trained.decide(imp.context, imp.actions)
        trained.learn(imp.context, imp.actions, d, float(rng.random() < 0.1))
    state = trained.state()
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bandit-bench-") as tmp:
        # VW's own predict and learn with every model the served policy holds (the funnel's
        # two), so that both sides do the same model work.
        models = []
        for k, workspace in enumerate(trained._models):
            models.append(Path(tmp) / f"model{k}.vw")
            models[-1].write_bytes(model_bytes(workspace))
        ours = POLICIES[SERVED](seed)
        ours.restore(state)
        assert isinstance(ours, VWPolicy)
        examples = [ours.example(imp.context, imp.actions) for imp in impressions]
        for _ in range(rounds):
            workspaces = [vowpalwabbit.Workspace(arg_list=["--quiet", "-i", str(m)]) for m in models]
            start = time.perf_counter()
            for lines in examples:
                for workspace in workspaces:
                    workspace.predict(lines)
            best["vw_predict"] = max(best.get("vw_predict", 0.0), n / (time.perf_counter() - start))
            start = time.perf_counter()
            for lines in examples:
                workspaces[0].predict(lines)
            best["vw_predict_one"] = max(best.get("vw_predict_one", 0.0), n / (time.perf_counter() - start))
            labelled = [with_label(lines, 0, -1.0, 1.0) for lines in examples]
            start = time.perf_counter()
            for lines, lab in zip(examples, labelled):
                for workspace in workspaces:
                    workspace.predict(lines)
                workspaces[0].learn(lab)  # a decision without engagement teaches the first model
            best["vw_predict_learn"] = max(best.get("vw_predict_learn", 0.0),
                                           n / (time.perf_counter() - start))
            for workspace in workspaces:
                workspace.finish()
            start = time.perf_counter()
            for imp in impressions:
                ours.decide(imp.context, imp.actions)
            best["decide"] = max(best.get("decide", 0.0), n / (time.perf_counter() - start))
            ours.restore(state)
            start = time.perf_counter()
            for imp in impressions:
                d = ours.decide(imp.context, imp.actions)
                ours.learn(imp.context, imp.actions, d, 0.0)
            best["decide_learn"] = max(best.get("decide_learn", 0.0), n / (time.perf_counter() - start))
            ours.restore(state)
    return best


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000, help="impressions per run (default 100000)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per world (default 3)")
    parser.add_argument("--worlds", default=",".join(SUITE), help="comma-separated worlds (default: all)")
    parser.add_argument("--policies", default=",".join(POLICIES), help="comma-separated policies (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--no-floors", action="store_true", help="skip the floor comparison")
    parser.add_argument("--no-ceiling", action="store_true",
                        help="skip the full-information learner (the model's ceiling)")
    parser.add_argument("--speed-decisions", type=int, default=3000, help="decisions per speed round")
    parser.add_argument("--speed-rounds", type=int, default=3, help="speed rounds, best kept (default 3)")
    args = parser.parse_args(argv)
    worlds, names = args.worlds.split(","), args.policies.split(",")
    if not args.no_ceiling:
        names.append(FULL_INFORMATION)
    seeds = list(range(args.seeds))
    print(f"# {len(worlds)} worlds x {len(seeds)} seeds x {args.decisions} impressions; floor 0.01 "
          f"(the served policy's adapts to 0.002)", flush=True)
    started = time.perf_counter()
    ok = report_policies(run_suite(worlds, names, seeds, args.decisions, args.jobs), worlds, names, seeds)
    if not args.no_floors:
        report_floors(run_suite(worlds, list(FLOORS), seeds, args.decisions, args.jobs, floors=True),
                      worlds, seeds)
    print(f"# the suite took {time.perf_counter() - started:.0f} s", flush=True)
    rates = speed(worlds[0], args.speed_decisions, args.speed_rounds)
    ratio = rates["decide"] / rates["vw_predict"]
    line(f"vw predict on prebuilt text, with each of the {SERVED} models, examples/s", f"{rates['vw_predict']:.0f}")
    line(f"our decide ({SERVED}), decisions/s", f"{rates['decide']:.0f}")
    line("our decide / vw predict", f"{ratio:.2f}", ">= 1.0", ratio >= 1.0)
    line("our decide / vw predict with one model (the model of the play alone makes one prediction)",
         f"{rates['decide'] / rates['vw_predict_one']:.2f}")
    learn_ratio = rates["decide_learn"] / rates["vw_predict_learn"]
    line("our decide+learn / vw predict+learn", f"{learn_ratio:.2f} ({rates['decide_learn']:.0f}/s)",
         ">= 0.70", learn_ratio >= 0.70)
    return 0 if ok and ratio >= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
