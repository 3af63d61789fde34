"""Policy commands: the named policies (champion and challengers) a deployment holds."""
from __future__ import annotations

import argparse
import json
import sys

from api.cli.common import command_config, emit, open_store

_POLICY_COLUMNS = ("name", "role", "spec", "recorded")


def _cmd_policy_add(args: argparse.Namespace) -> int:
    from api.runtime.policies import add_policy
    from api.runtime.services import build_policy

    config = command_config(args)
    record = add_policy(open_store(args), args.name, args.spec,
                        lambda spec, name: build_policy(config, spec, name), config.policy)
    emit([dict(record.as_dict(), recorded=True)], args.json, _POLICY_COLUMNS)
    return 0


def _cmd_policy_list(args: argparse.Namespace) -> int:
    from api.runtime.policies import lineup_rows

    emit(lineup_rows(open_store(args), command_config(args).policy), args.json, _POLICY_COLUMNS)
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    from api.runtime.promotion import REFUSED, promote

    config = command_config(args)
    outcome = promote(open_store(args), args.name, config.policy, window=config.reward_window,
                      reward_of=config.reward_mapping, margin=config.promotion_margin,
                      force=args.force)
    e = outcome.evidence
    if args.json:
        print(json.dumps({"action": outcome.action, "promoted": outcome.promoted,
                          "evidence": None if e is None else e.as_dict()}, indent=2))
    elif e is None:
        print(f"no logged evidence on {args.name!r}; forced: it is the champion now")
    else:
        print(f"{e.challenger} {e.challenger_value:.4f} vs champion {e.champion} "
              f"{e.champion_value:.4f} on {e.n_rounds} decisions ({e.estimator}): improvement "
              f"{e.difference:+.4f}, {e.confidence:.0%} interval [{e.ci_low:+.4f}, "
              f"{e.ci_high:+.4f}], margin {e.margin:+.4f}")
        if outcome.action == REFUSED:
            print(f"refused: the improvement is not shown above the margin; {e.champion} stays "
                  "champion (--force overrides, and is recorded)", file=sys.stderr)
            return 1
        print(f"{e.challenger} is the champion now"
              + ("" if e.shown_better else " (forced against the evidence)"))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `policy` and `promote` commands."""

    def parser(parent, name: str, text: str, details: str = "") -> argparse.ArgumentParser:
        return parent.add_parser(name, help=text, description=(text + ". " + details).strip())

    policy = parser(sub, "policy", "named policies: the champion that serves and challengers in "
                    "shadow", "Every serving process re-reads them every reload_interval seconds.")
    policies = policy.add_subparsers(dest="policy_command", metavar="SUBCOMMAND", required=True)
    p = parser(policies, "add", "add a challenger in shadow",
               "It learns from every logged decision and its pmf is logged beside each one, so "
               "it can be evaluated offline exactly.")
    p.add_argument("name", help="the policy's name (letters, digits, '.', '_', '-')")
    p.add_argument("spec", help="its spec, e.g. vw:igw or egreedy:epsilon=0.1")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_policy_add)
    p = parser(policies, "list", "list the policies, the champion first",
               "With no champion recorded, the configured policy is the champion.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_policy_list)
    p = parser(sub, "promote", "make a challenger the champion if the logs show it better",
               "The challenger is evaluated against the champion on the same logged decisions "
               "(paired SNIPS difference with its interval) and promoted only when the "
               "interval's lower bound is above promotion_margin. Every outcome is kept in the "
               "audit trail; serving processes switch at their next refresh, without a restart.")
    p.add_argument("name", help="the challenger's name (see `artbandit policy list`)")
    p.add_argument("--force", action="store_true",
                   help="promote even without the evidence (recorded as forced)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_promote)
