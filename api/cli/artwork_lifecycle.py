"""`artbandit artwork` subcommands for an artwork's life: where it may be shown, and deleting it."""
from __future__ import annotations

import argparse
from typing import Any

from artwork.eligibility import MATURITY_LEVELS, eligibility_from

from api.cli.common import emit, open_store
from api.runtime.serializers import artwork_dict


def _codes(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def _cmd_set_eligibility(args: argparse.Namespace) -> int:
    rules: dict[str, Any] = {
        "countries": _codes(args.countries), "languages": _codes(args.languages),
        "devices": _codes(args.devices), "maturity": args.maturity,
        "starts": args.starts, "ends": args.ends,
    }
    art = open_store(args).set_eligibility(
        args.artwork_id, eligibility_from({k: v for k, v in rules.items() if v is not None}))
    emit([artwork_dict(art)], args.json, ("id", "status", "eligibility"))
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    art = open_store(args).delete_artwork(args.artwork_id)
    print(f"deleted artwork {art.id} of title {art.title_id}; its logged decisions keep its id")
    return 0


def register(artwork_commands: argparse._SubParsersAction) -> None:
    """Add the eligibility and delete subcommands to `artbandit artwork`."""
    p = artwork_commands.add_parser(
        "set-eligibility", help="limit where an artwork may be shown (no options: anywhere)",
        description="Replace an artwork's eligibility rules: only requests that match every "
        "rule given get it as a candidate. Give no option to clear the rules.")
    p.add_argument("artwork_id", help="the artwork id")
    p.add_argument("--countries", metavar="CODES", help="two-letter country codes, e.g. DE,AT")
    p.add_argument("--languages", metavar="CODES", help="language codes, e.g. de,en")
    p.add_argument("--devices", metavar="NAMES", help="device classes, e.g. tv,mobile")
    p.add_argument("--maturity", choices=MATURITY_LEVELS,
                   help="the artwork's rating: profiles with a lower ceiling never get it")
    p.add_argument("--starts", metavar="WHEN",
                   help="eligible from this ISO 8601 date-time with zone, e.g. 2026-12-01T00:00Z")
    p.add_argument("--ends", metavar="WHEN", help="eligible until this ISO 8601 date-time")
    p.add_argument("--json", action="store_true", help="print the artwork as JSON")
    p.set_defaults(func=_cmd_set_eligibility)
    p = artwork_commands.add_parser(
        "delete", help="delete an artwork for good (its image, its catalog row)",
        description="Delete an artwork: its image file and catalog row. Logged decisions keep "
        "its id, so past logs can still be evaluated.")
    p.add_argument("artwork_id", help="the artwork id")
    p.set_defaults(func=_cmd_delete)
