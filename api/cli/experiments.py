"""Experiment commands: split users between policies, watch the result, stop and record it."""
from __future__ import annotations

import argparse
import json

from api.cli.common import command_config, open_store, print_table
from api.errors import InvalidRequestError

_ARM_COLUMNS = ("arm", "share", "decisions", "take_rate", "take_rate_low", "take_rate_high")
_DIFF_COLUMNS = ("arm", "against", "difference", "low", "high", "separated")


def _arms(items: list[str]) -> dict[str, float]:
    arms: dict[str, float] = {}
    for item in items:
        name, _, share = item.partition("=")
        try:
            arms[name.strip()] = float(share)
        except ValueError:
            raise InvalidRequestError(
                f"--arm {item!r} must be POLICY=PERCENT, e.g. --arm champion=50") from None
    return arms


def _show(stats: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(stats, indent=2))
        return
    state = "running" if stats["running"] else "stopped"
    print(f"experiment {stats['experiment']} ({state}); take rates with 95% intervals, "
          f"differences with {stats['confidence']:.0%} confidence sequences (valid at any look)")
    print_table([{k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in a.items()}
                 for a in stats["arms"]], _ARM_COLUMNS)
    print_table([{k: (f"{v:+.4f}" if isinstance(v, float) else v) for k, v in d.items()}
                 for d in stats["differences"]], _DIFF_COLUMNS)


def _cmd_start(args: argparse.Namespace) -> int:
    from api.runtime.experiments import start_experiment

    config = command_config(args)
    exp = start_experiment(open_store(args), args.name, _arms(args.arm), config.policy)
    print(f"experiment {exp.name} started: "
          + ", ".join(f"{arm} {share:g}%" for arm, share in exp.arms)
          + "; serving processes assign users at their next refresh")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from api.runtime.experiments import experiment_stats

    config = command_config(args)
    _show(experiment_stats(open_store(args), args.name, window=config.reward_window,
                           reward_of=config.reward_mapping), args.json)
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    from api.runtime.experiments import stop_experiment

    config = command_config(args)
    exp = stop_experiment(open_store(args), args.name, window=config.reward_window,
                          reward_of=config.reward_mapping)
    _show(dict(exp.result or {}), args.json)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `experiment` command."""
    text = "experiments: users hashed into arms (policies), take rates, an always-valid difference"
    experiment = sub.add_parser("experiment", help=text, description=text + ". One at a time.")
    commands = experiment.add_subparsers(dest="experiment_command", metavar="SUBCOMMAND",
                                         required=True)
    text = "start an experiment"
    p = commands.add_parser("start", help=text, description=text + ": each user is hashed "
                            "into an arm, whose policy serves them for the experiment's life.")
    p.add_argument("name", help="the experiment's name")
    p.add_argument("--arm", action="append", required=True, metavar="POLICY=PERCENT",
                   help="an arm: a policy (the champion or a challenger) and its share of users")
    p.set_defaults(func=_cmd_start)
    for name, func, text in (("status", _cmd_status, "per arm: decisions, take rate; the "
                              "difference with its confidence sequence"),
                             ("stop", _cmd_stop, "stop assigning users and record the result")):
        p = commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        p.add_argument("name", help="the experiment's name")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=func)
