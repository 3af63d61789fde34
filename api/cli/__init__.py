"""The `artbandit` command line: a thin layer that turns library errors into one-line messages.

Each command's module is imported only when that command runs (or for the full `--help`),
so a quick command such as `artbandit title list` does not load the simulator, plots or
the vision stage.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Sequence

# Which module registers each command; a handler returns the exit code.
_COMMANDS = {
    "init": "catalog", "title": "catalog", "artwork": "catalog", "log": "catalog",
    "ingest": "vision", "simulate": "simulator", "replay": "simulator",
    "serve": "serve", "learn": "serve", "demo": "demo", "user": "accounts", "audit": "accounts",
    "policy": "policies", "promote": "policies", "experiment": "experiments",
}
# Global options that take a value, so the command is found after them.
_VALUE_OPTIONS = ("--data-dir", "--config")


def _version() -> str:
    try:
        return version("artbandit")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def command_of(argv: Sequence[str]) -> str | None:
    """The command word in `argv` (after the global options), or None."""
    args = iter(argv)
    for arg in args:
        if arg in _VALUE_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the argument parser: with `command`'s subcommands only, else with every one."""
    parser = argparse.ArgumentParser(
        prog="artbandit",
        description="Artwork personalization engine: catalog, vision stage, contextual bandit, "
        "serving API and offline policy evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"artbandit {_version()}")
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
    modules = ([_COMMANDS[command]] if command in _COMMANDS
               else list(dict.fromkeys(_COMMANDS.values())))
    for name in modules:
        importlib.import_module(f"api.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `artbandit` console script."""
    from api.cli.common import command_actor, error_line, is_ours
    from artwork.audit import acting

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_of(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        with acting(command_actor()):  # catalog changes made here are audited as the OS user's
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("artbandit: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not is_ours(exc):
            raise
        print(error_line(exc), file=sys.stderr)
        return 2
