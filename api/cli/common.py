"""What every command shares: the configuration and store it runs with, tables, and errors as one line."""
from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
from typing import Any, Iterable, Sequence

from artwork.audit import Actor
from artwork.store import Store

from api.config import Config, config_for_cli
from api.runtime.stores import open_store as open_configured_store

# The error base of each package, by module. A command imports only what it needs (so that
# `artbandit title list` starts fast), and a package that was never imported raised none.
_ERROR_BASES = (("artwork.errors", "CatalogError"), ("bandit.errors", "BanditError"),
                ("vision.errors", "VisionError"), ("simulator.errors", "SimulatorError"),
                ("api.errors", "ApiError"))

# What to do about an error, by its type's name (and, for missing records, by what is missing).
_NOT_FOUND_HINTS = {
    "title": "`artbandit title list` shows the titles",
    "artwork": "`artbandit artwork list TITLE` shows a title's artworks",
}
_COLUMN_FLAGS = {"action": "--action-col", "reward": "--reward-col", "pscore": "--propensity-col",
                 "candidates": "--candidates-col", "timestamp": "--time-col",
                 "position": "--position-col", "context": "--context-cols"}
_HINTS: dict[str, str] = {
    "vision.errors.EmbedderUnavailableError": "install the `clip` extra (pip install "
                                              "'artbandit[clip]') or pass --embedder classic",
    "vision.errors.EmbedderConfigError": "pass --clip-pretrained with a local checkpoint, or "
                                         "--embedder classic",
    "simulator.errors.LogFormatError": "pass --format csv or --format parquet for another suffix",
    "api.errors.LearnerBusyError": "run one learner per data directory: `serve --workers 1` "
                                   "learns in process, otherwise start `artbandit learn` once",
    "api.errors.IngestWorkerBusyError": "run one ingest worker per data directory (`serve` "
                                        "starts one)",
    "artwork.errors.SchemaError": "upgrade artbandit to open this data directory",
    "artwork.errors.StorageFullError": "free disk space in the data directory and try again",
    "artwork.errors.StoreUnavailableError": "check --data-dir (a writable folder holding an "
                                            "artbandit database), or restore it from a backup",
}


def is_ours(exc: BaseException) -> bool:
    """Whether `exc` is an error of one of the project's packages (reported as one line)."""
    return any(isinstance(exc, getattr(sys.modules[module], name))
               for module, name in _ERROR_BASES if module in sys.modules)


def hint_for(exc: BaseException) -> str | None:
    """What the user can do about an error, or None when its message says enough."""
    names = [f"{k.__module__}.{k.__qualname__}" for k in type(exc).__mro__]
    if "artwork.errors.NotFoundError" in names:
        return _NOT_FOUND_HINTS.get(getattr(exc, "kind", ""))
    if "simulator.errors.MissingColumnError" in names:
        flag = _COLUMN_FLAGS.get(getattr(exc, "role", ""))
        return None if flag is None else f"map the column with {flag} NAME"
    return next((_HINTS[n] for n in names if n in _HINTS), None)


def error_line(exc: BaseException) -> str:
    """The one line a command prints on stderr for an error."""
    hint = hint_for(exc)
    return f"artbandit: error: {exc}" + (f"; {hint}" if hint else "")


def command_actor() -> Actor:
    """Who runs a command, as the audit trail names them: the OS user, on this host."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        name = "unknown"
    return Actor(f"cli:{name}", f"command line on {socket.gethostname()}")


def command_config(args: argparse.Namespace, **overrides: Any) -> Config:
    """The configuration a command runs with: its flags over the environment and config file."""
    return config_for_cli(args.data_dir, args.config, **overrides)


def open_store(args: argparse.Namespace) -> Store:
    """Open the store in the data directory the flags, environment or config file name."""
    return open_configured_store(command_config(args))


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print rows as an aligned plain-text table."""
    if not rows:
        print("(none)")
        return
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def emit(items: Iterable[dict[str, Any]], as_json: bool, columns: Sequence[str]) -> None:
    """Print records as JSON or as a table of the given columns."""
    items = list(items)
    if as_json:
        json.dump(items, sys.stdout, indent=2)
        print()
    else:
        print_table(items, columns)
