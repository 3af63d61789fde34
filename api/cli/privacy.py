"""`artbandit user forget`: erase what the logs hold about one viewer (the right to be forgotten)."""
from __future__ import annotations

import argparse
import json

from api.cli.common import open_store


def _cmd_forget(args: argparse.Namespace) -> int:
    erasure = open_store(args).forget_user(args.user_id)
    if args.json:
        print(json.dumps({"erasure": erasure.id, "at": erasure.at}))
    else:
        print(f"erased the decisions, feedback and plays of that user (erasure {erasure.id}); "
              "exports made before now still hold them")
    return 0


def register_forget(user_commands: argparse._SubParsersAction) -> None:
    """Add `forget` to the `artbandit user` subcommands."""
    p = user_commands.add_parser(
        "forget", help="erase a viewer's decisions, feedback and plays from the logs",
        description="Erase everything the logs hold about one viewer (the `user` of GET "
        "/artwork): decisions, feedback, plays. Only that an erasure happened is recorded.")
    p.add_argument("user_id", help="the viewer's id as the UI sends it")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_forget)
