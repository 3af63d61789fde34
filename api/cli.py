"""The `artbandit` command line: a thin layer that turns library errors into one-line messages."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from artwork.errors import CatalogError
from bandit.errors import BanditError
from simulator.errors import SimulatorError
from vision.errors import VisionError

from api import cli_catalog, cli_demo, cli_serve, cli_simulator, cli_vision
from api.config import ConfigError

# Each area registers its subcommands; a handler returns the exit code.
_AREAS = (cli_catalog, cli_vision, cli_simulator, cli_serve, cli_demo)
# Library errors become one line on stderr and exit code 2.
_ERRORS = (CatalogError, BanditError, VisionError, SimulatorError, ConfigError)


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
    except _ERRORS as exc:
        print(f"artbandit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("artbandit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
