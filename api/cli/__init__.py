"""The `artbandit` command line: a thin layer that turns library errors into one-line messages."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from api.cli import catalog, demo, serve, simulator, vision
from api.cli.common import ERRORS, error_line

# Each area registers its subcommands; a handler returns the exit code.
_AREAS = (catalog, vision, simulator, serve, demo)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every area's subcommands."""
    parser = argparse.ArgumentParser(
        prog="artbandit",
        description="Artwork personalization engine: catalog, vision stage, contextual bandit, "
        "serving API and offline policy evaluation.",
    )
    parser.add_argument(
        "--data-dir",
        help="data directory holding the SQLite store, images and model snapshots "
        "(default: $ARTBANDIT_DATA_DIR or ./artbandit-data)",
    )
    parser.add_argument(
        "--config", help="TOML configuration file (default: $ARTBANDIT_CONFIG if set)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for area in _AREAS:
        area.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `artbandit` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ERRORS as exc:
        print(error_line(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("artbandit: interrupted", file=sys.stderr)
        return 130

