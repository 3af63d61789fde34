"""Where a log's rows live: one file, a directory of Hive-style partitions, or a glob of files.

A partitioned log (`date=2026-01-31/part-00001.parquet`, ...) is read file by file in the
order of their paths; `key=value` folders add a string column `key` that a column mapping may
use. Names that start with `.` or `_` (temporary files, manifests, `_SUCCESS`) are skipped, as
Hive-style readers do.
"""
from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from simulator.errors import LogFormatError

__all__ = ["LOG_SUFFIXES", "LogPart", "log_parts", "printable"]

LOG_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class LogPart:
    """One file of a log: its path, format, partition values, and (Parquet) its row count."""

    path: Path
    format: str
    partition: tuple[tuple[str, str], ...] = ()
    rows: int | None = None


def log_parts(source: str | Path, format: str | None = None) -> list[LogPart]:
    """The files of a log, in path order: the file itself, the data files under a directory, or a glob's matches."""
    if format is not None and format not in ("csv", "parquet"):
        raise LogFormatError(f"unknown log format {format!r}; use csv or parquet")
    text = str(source)
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _visible(p.relative_to(path))
                       and (format is not None or p.suffix.lower() in LOG_SUFFIXES))
        base = path
        if not files:
            raise LogFormatError(f"{path}: holds no .parquet or .csv files (a partitioned log has "
                                 "date=YYYY-MM-DD/ folders of them)")
    elif not path.exists() and any(ch in text for ch in _GLOB_CHARS):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True)
                       if Path(p).is_file() and _visible(Path(p)))
        base = None
        if not files:
            raise LogFormatError(f"{text}: the pattern matches no file")
    else:
        if not path.exists():
            raise LogFormatError(f"{path}: no such file")
        return [_part(path, format, None)]
    return [_part(f, format, base) for f in files]


def _visible(relative: Path) -> bool:
    return not any(part.startswith((".", "_")) for part in relative.parts)


def _part(path: Path, format: str | None, base: Path | None) -> LogPart:
    fmt = format or LOG_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise LogFormatError(f"{path.name}: cannot tell the format from the suffix {path.suffix!r}")
    folders = (path.relative_to(base) if base is not None else path).parent.parts
    partition = tuple((k, v) for k, _, v in (p.partition("=") for p in folders if "=" in p) if k)
    rows = None
    if fmt == "parquet":
        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except (OSError, ValueError) as exc:
            raise LogFormatError(f"{path.name}: cannot be read as PARQUET ({printable(exc)})") from None
    return LogPart(path, fmt, partition, rows)


def printable(exc: BaseException, limit: int = 160) -> str:
    """An error's text cut short, anything but printable ASCII shown as '?' (it may quote binary data)."""
    clean = "".join(c if " " <= c <= "~" else "?" for c in str(exc))
    return clean if len(clean) <= limit else clean[:limit] + "..."
