"""The `artbandit` command line: a thin layer that turns library errors into one-line messages."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from artwork.errors import CatalogError
from bandit.errors import BanditError

from api import cli_catalog
from api.config import ConfigError

# Each area registers its subcommands here; a handler returns the exit code.
_AREAS = [cli_catalog]


def _optional_areas() -> list:
    areas = []
    for name in ("api.cli_vision", "api.cli_simulator", "api.cli_serve", "api.cli_demo"):
        try:
            areas.append(__import__(name, fromlist=["register"]))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return areas


def _error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [CatalogError, BanditError, ConfigError]
    for module, name in (("vision.errors", "VisionError"), ("simulator.errors", "SimulatorError")):
        try:
            types.append(getattr(__import__(module, fromlist=[name]), name))
        except ModuleNotFoundError:
            pass
    return tuple(types)


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
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for area in _AREAS + _optional_areas():
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
    except _error_types() as exc:
        print(f"artbandit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("artbandit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
