"""Simulator commands: `simulate` (policies side by side on a synthetic world) and `replay` (off-policy evaluation of a log)."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from bandit.errors import PolicySpecError
from simulator.errors import InvalidEstimatorError
from simulator.distributed import DEFAULT_WORKERS, check_distributable, evaluate_partitioned
from simulator.distributed_rewards import SAMPLE_ROWS
from simulator.estimators import ESTIMATORS, make_estimator
from simulator.log_files import read_log
from simulator.logs import ColumnMapping
from simulator.online import simulate
from simulator.reports import SIMULATION_COLUMNS, evaluation_rows, format_table, write_evaluation_report, write_simulation_report
from simulator.replay import replay_log
from simulator.specs import parse_policy_specs
from simulator.world import World, WorldConfig

from api.cli.common import command_config, open_store
from api.runtime.actions import catalog_actions

DEFAULT_SIM_POLICIES = ("uniform", "default", "egreedy:0.1", "thompson", "vw:squarecb")
DEFAULT_ROUNDS = 40_000
DEFAULT_ESTIMATORS = "replay,ips,snips,dm,dr"
DASK_ESTIMATORS = "ips,snips,dr"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `simulate` and `replay` subcommands."""
    sim = subparsers.add_parser(
        "simulate", help="run policies side by side on a synthetic world and report take rate and regret",
        description="Serve the same synthetic traffic to several policies, each learning from its own "
        "feedback; write summary.md/json, take_rate.png and regret.png to --out.")
    sim.add_argument("--world-seed", type=int, default=0, help="seed of the synthetic world (default 0)")
    sim.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help=f"impressions to serve (default {DEFAULT_ROUNDS})")
    sim.add_argument("--seed", type=int, default=0, help="seed of the traffic, feedback and policies (default 0)")
    sim.add_argument("--policy", action="append", metavar="SPEC",
                     help="policy spec, repeatable (default: " + " ".join(DEFAULT_SIM_POLICIES) + ")")
    sim.add_argument("--out", required=True, type=Path, help="output folder for the table and plots")
    sim.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    sim.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sim.set_defaults(func=run_simulate)

    rep = subparsers.add_parser(
        "replay", help="estimate what policies would have earned on a logged-feedback file",
        description="Off-policy evaluation of a store export (no mapping needed) or any CSV/Parquet log "
        "with a column mapping; write report.md/json and plots to --out. With the global --data-dir, "
        "policies see the artworks' features and defaults from that store.")
    rep.add_argument("log", type=Path,
                     help="the log: a CSV or Parquet file, a directory of partitions (log export "
                     "--partition-by date), or a quoted glob such as 'logs/date=2026-01-*/*.parquet'")
    rep.add_argument("--format", choices=("csv", "parquet"), help="file format (default: from the suffix)")
    rep.add_argument("--action-col", help="column of the chosen artwork id (foreign logs)")
    rep.add_argument("--reward-col", help="column of the reward")
    rep.add_argument("--propensity-col", help="column of the logging probability of the chosen artwork")
    rep.add_argument("--pmf-col", help="column of the full logged pmf (JSON list aligned with the candidates)")
    rep.add_argument("--context-cols", help="context columns: a,b,c or a glob such as user_feature_*")
    rep.add_argument("--candidates-col",
                     help="column of the candidate ids (JSON list or a|b|c); default for foreign logs: "
                     "all actions seen in the log")
    rep.add_argument("--time-col", help="column of the decision time (rows are replayed in time order)")
    rep.add_argument("--position-col", help="column of the row/slot position on the page; policies see it as "
                     "the context feature `position`, so they (and their estimates) can differ by slot")
    rep.add_argument("--event-col", help="column of the event id (needed by file: policies keyed by event_id)")
    rep.add_argument("--policy", action="append", metavar="SPEC", required=True,
                     help="policy spec, repeatable: uniform, default, thompson, egreedy:0.1, vw:squarecb, "
                     "vw:epsilon=0.05, file:probs.csv, logged")
    rep.add_argument("--estimators",
                     help=f"comma-separated estimators (default {DEFAULT_ESTIMATORS}; with --engine dask "
                     f"{DASK_ESTIMATORS})")
    rep.add_argument("--clip", type=float, help="clip importance weights of IPS and DR at this value")
    rep.add_argument("--confidence", type=float, default=0.95, help="confidence level of the intervals (default 0.95)")
    rep.add_argument("--seed", type=int, default=0, help="seed of replay sampling, bootstrap and policies")
    rep.add_argument("--out", required=True, type=Path, help="output folder for the report and plots")
    rep.add_argument("--json", action="store_true", help="print the estimates as JSON instead of a table")
    rep.add_argument("--no-progress", action="store_true", help="hide progress bars")
    rep.add_argument("--engine", choices=("local", "dask"), default="local",
                     help="local: one process (default); dask: fixed policies and ips, snips and the dr "
                     "family as map-reduce over the log's files on a Dask cluster")
    rep.add_argument("--scheduler", metavar="ADDRESS",
                     help="with --engine dask: a running Dask scheduler (default: a local cluster)")
    rep.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                     help=f"with --engine dask: worker processes of the local cluster (default {DEFAULT_WORKERS})")
    rep.add_argument("--model-sample", type=int, default=SAMPLE_ROWS, metavar="ROWS",
                     help="with --engine dask: about how many rows, sampled from every file, the dr family's "
                     f"reward model is fitted on (default {SAMPLE_ROWS})")
    rep.set_defaults(func=run_replay)


def _mapping(args: argparse.Namespace) -> ColumnMapping | None:
    flags = (args.action_col, args.reward_col, args.propensity_col, args.pmf_col, args.context_cols,
             args.candidates_col, args.time_col, args.position_col, args.event_col)
    if not any(flags):
        return None
    return ColumnMapping(
        action=args.action_col or "action",
        reward=args.reward_col or "reward",
        propensity=args.propensity_col,
        pmf=args.pmf_col,
        context=tuple(c.strip() for c in (args.context_cols or "").split(",") if c.strip()),
        candidates=args.candidates_col,
        time=args.time_col,
        position=args.position_col,
        event_id=args.event_col,
    )


def run_replay(args: argparse.Namespace) -> int:
    """Handler of `artbandit replay`."""
    chosen = args.estimators
    if chosen is None:
        chosen = DASK_ESTIMATORS if args.engine == "dask" else DEFAULT_ESTIMATORS
    names = [n.strip() for n in chosen.split(",") if n.strip()]
    if not names:
        raise InvalidEstimatorError(f"--estimators is empty; choose from {', '.join(ESTIMATORS)}")
    settings = {"confidence": args.confidence, "clip": args.clip, "seed": args.seed}
    estimators = [make_estimator(n, **settings) for n in names]
    specs = parse_policy_specs(args.policy)
    progress = not args.no_progress and sys.stderr.isatty()
    started = time.perf_counter()
    if args.engine == "dask":
        evaluations, meta = _replay_on_dask(args, specs, estimators)
    else:
        if args.scheduler:
            raise InvalidEstimatorError("--scheduler needs --engine dask")
        log = read_log(args.log, _mapping(args), format=args.format)
        catalog = _catalog(args, log.action_names)
        evaluations = replay_log(log, specs, estimators, catalog=catalog, seed=args.seed,
                                 progress=progress)
        meta = {"n_rounds": log.n_rounds, "n_actions": log.n_actions,
                "mean_logged_reward": float(log.reward.mean())}
    meta = {"log": str(args.log), **meta, "estimators": ",".join(names),
            "seconds": round(time.perf_counter() - started, 2)}
    paths = write_evaluation_report(args.out, evaluations, meta)
    rows = evaluation_rows(evaluations)
    if args.json:
        print(paths["json"].read_text(), end="")
    else:
        print(f"{meta['n_rounds']} logged events, mean reward {meta['mean_logged_reward']:.4f}")
        print(format_table(rows))
        for r in rows:
            for w in r["warnings"]:
                print(f"warning: {r['policy']} / {r['estimator']}: {w}", file=sys.stderr)
        print(f"report: {paths['markdown']}")
    return 0


def _catalog(args: argparse.Namespace, artwork_ids) -> dict | None:
    """The store's actions (features, defaults) of the artworks, with the global --data-dir."""
    if not args.data_dir:
        return None
    config = command_config(args)
    return catalog_actions(open_store(args), artwork_ids, config.embed_dim)


def _replay_on_dask(args: argparse.Namespace, specs, estimators) -> tuple[list, dict]:
    """Evaluate on Dask: (evaluations, report metadata)."""
    check_distributable(specs, estimators)  # before a cluster starts
    # The cluster's own chatter (start, stop, workers closing) is not the command's output;
    # Dask sets each of its loggers' levels, so each is quietened.
    import distributed  # noqa: F401 - its loggers exist once it is imported

    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] == "distributed":
            logging.getLogger(name).setLevel(logging.ERROR)
    catalog = None
    if args.data_dir:
        store = open_store(args)
        catalog = _catalog(args, [a.id for t in store.list_titles() for a in store.list_artworks(t.id)])
    run = evaluate_partitioned(args.log, specs, estimators, mapping=_mapping(args), format=args.format,
                               catalog=catalog, seed=args.seed, scheduler=args.scheduler, workers=args.workers,
                               model_sample=args.model_sample)
    peak = max(run.peak_rss_per_worker().values(), default=0)
    meta = {"n_rounds": run.n_rounds, "n_actions": run.n_actions, "mean_logged_reward": run.mean_reward,
            "engine": "dask", "workers": run.workers, "partitions": len(run.partitions),
            "peak_worker_memory_mib": round(peak / 2**20, 1)}
    return run.evaluations, meta


def run_simulate(args: argparse.Namespace) -> int:
    """Handler of `artbandit simulate`."""
    specs = parse_policy_specs(args.policy or list(DEFAULT_SIM_POLICIES))
    for spec in specs:
        if spec.kind in ("file", "logged"):
            raise PolicySpecError(f"policy {spec.name!r} needs a log; simulate runs bandit policies only")
    world = World(WorldConfig(seed=args.world_seed))
    policies = {spec.name: spec.build(args.seed + i) for i, spec in enumerate(specs)}
    progress = not args.no_progress and sys.stderr.isatty()
    started = time.perf_counter()
    result = simulate(world, policies, args.rounds, seed=args.seed, progress=progress)
    meta = {"world_seed": args.world_seed, "seed": args.seed, "rounds": args.rounds,
            "seconds": round(time.perf_counter() - started, 2)}
    paths = write_simulation_report(args.out, result, meta)
    if args.json:
        print(json.dumps({"meta": meta, "summary": result.summary()}, indent=2))
    else:
        print(format_table(result.summary(), SIMULATION_COLUMNS))
        print(f"report: {paths['markdown']}")
    return 0
