"""Incremental export of the decision log as Hive-style Parquet partitions (`date=YYYY-MM-DD/`).

Each export appends the decisions whose reward window closed since the previous one: a
manifest in the directory (`_artbandit_export.json`, which Hive-style readers skip) keeps the
(timestamp, event id) cursor of the last exported decision, and every export starts strictly
after it, so no decision is written twice. Rows keep the raw feedback (one flag and one value
column per kind) next to the mapped reward, and the timestamp as a Parquet timestamp (UTC), so
pandas, polars, DuckDB or Spark read the directory as it is.

A file is written under a hidden temporary name; the manifest, replaced atomically, is the
commit; the files are then renamed into place. An export killed before its commit leaves only
hidden temporary files, removed by the next export; one killed after it has its renames
finished by the next export. One export at a time per directory (a lock file).
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from artwork.errors import InvalidRecordError
from artwork.export import PARQUET, log_schema, record_batches
from artwork.join import RewardFn
from artwork.records import REWARD_KINDS, LearningPair
from artwork.store import Store

__all__ = ["MANIFEST", "PARTITION_BY", "PartitionedExport", "export_partitions", "partition_schema",
           "read_manifest"]

MANIFEST = "_artbandit_export.json"
_LOCK = "_artbandit_export.lock"
_TMP = ".tmp"
PARTITION_BY = ("date",)
_VERSION = 1
_CHUNK = 20_000


def partition_schema() -> pa.Schema:
    """The schema of a partition file: the Parquet export's, a UTC timestamp, and the raw feedback."""
    fields = [pa.field("timestamp", pa.timestamp("us", tz="UTC")) if f.name == "timestamp" else f
              for f in log_schema(PARQUET)]
    for kind in REWARD_KINDS:
        fields += [pa.field(kind, pa.bool_()), pa.field(f"{kind}_value", pa.float64())]
    return pa.schema(fields)


@dataclass(frozen=True)
class PartitionedExport:
    """What one export appended: rows, files (relative to the directory), and its cursor."""

    rows: int
    files: tuple[str, ...]
    cursor: tuple[float, str] | None
    export: int


def export_partitions(
    store: Store,
    directory: Path | str,
    *,
    window: float,
    reward_of: RewardFn,
    partition_by: str = "date",
    now: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> PartitionedExport:
    """Append every decision whose reward window closed since the last export to `directory`."""
    if partition_by not in PARTITION_BY:
        raise InvalidRecordError(
            f"cannot partition by {partition_by!r}; partition by {', '.join(PARTITION_BY)}")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InvalidRecordError(f"{directory}: not a directory; a partitioned export writes a directory")
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / _LOCK, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidRecordError(f"{directory}: another export is writing there; wait for it to end") from None
        manifest = _recover(directory)
        settings = {"partition_by": partition_by, "window": float(window), "reward": _describe(reward_of)}
        _check_settings(directory, manifest, settings)
        cursor = tuple(manifest["cursor"]) if manifest.get("cursor") else None
        number = len(manifest.get("exports", [])) + 1
        written, rows, last = _write(store, directory, number, window, reward_of, cursor, now, progress)
        if rows == 0:
            return PartitionedExport(0, (), cursor, number - 1)
        entry = {"export": number, "exported_at": time.time(), "rows": rows, "after": cursor,
                 "cursor": last, "files": [rel for rel, _ in written]}
        _write_manifest(directory, {**settings, "version": _VERSION, "cursor": last,
                                    "exports": [*manifest.get("exports", []), entry]})
        for rel, tmp in written:
            os.replace(tmp, directory / rel)
        return PartitionedExport(rows, tuple(rel for rel, _ in written), tuple(last), number)


def read_manifest(directory: Path | str) -> dict[str, Any]:
    """The directory's export manifest ({} before the first export)."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise InvalidRecordError(f"{path}: the export manifest is not JSON ({exc}); restore it or "
                                 "export to a new directory") from None


def _describe(reward_of: RewardFn) -> dict[str, Any] | str:
    weights = getattr(reward_of, "weights", None)
    if weights is None:
        return getattr(reward_of, "__qualname__", type(reward_of).__qualname__)
    return {"weights": dict(sorted(weights.items())), "use_values": bool(getattr(reward_of, "use_values", False))}


def _check_settings(directory: Path, manifest: dict[str, Any], settings: dict[str, Any]) -> None:
    for key, value in settings.items():
        if key in manifest and manifest[key] != value:
            raise InvalidRecordError(
                f"{directory}: earlier exports there used {key} {manifest[key]!r}, this one {value!r}; "
                "keep the same settings or export to a new directory")


def _recover(directory: Path) -> dict[str, Any]:
    """The manifest, after finishing a committed export's renames and removing uncommitted files."""
    manifest = read_manifest(directory)
    committed = {rel for entry in manifest.get("exports", []) for rel in entry["files"]}
    for rel in committed:
        final = directory / rel
        tmp = _tmp_path(final)
        if not final.exists() and tmp.exists():
            os.replace(tmp, final)
    for tmp in directory.glob(f"**/.*{_TMP}"):
        tmp.unlink(missing_ok=True)
    return manifest


def _tmp_path(final: Path) -> Path:
    return final.with_name(f".{final.name}{_TMP}")


def _date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")


def _write(store: Store, directory: Path, number: int, window: float, reward_of: RewardFn,
           cursor: tuple | None, now: float | None,
           progress: Callable[[int], None] | None) -> tuple[list[tuple[str, Path]], int, list | None]:
    """Write the new decisions under temporary names: (relative name, temporary path) per file."""
    schema = partition_schema()
    written: list[tuple[str, Path]] = []
    rows, last = 0, None
    writer: pq.ParquetWriter | None = None
    current = None
    try:
        pairs = store.learning_pairs(window, reward_of, now=now, after=cursor)
        for date, chunk in _dated_chunks(pairs):
            batch = _batch(chunk, schema)
            if date != current:
                if writer is not None:
                    writer.close()
                rel = f"date={date}/part-{number:05d}.parquet"
                tmp = _tmp_path(directory / rel)
                tmp.parent.mkdir(parents=True, exist_ok=True)
                written.append((rel, tmp))
                writer, current = pq.ParquetWriter(tmp, schema), date
            writer.write_batch(batch)
            rows += batch.num_rows
            last = [chunk[-1].decision.timestamp, chunk[-1].decision.event_id]
            if progress:
                progress(batch.num_rows)
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.close()
        for _, tmp in written:
            tmp.unlink(missing_ok=True)
        raise
    return written, rows, last


def _dated_chunks(pairs: Iterable[LearningPair]) -> Iterator[tuple[str, list[LearningPair]]]:
    """The pairs in chunks, each within one date (decisions come in time order)."""
    pending: list = []
    current = None
    for pair in pairs:
        date = _date(pair.decision.timestamp)
        if pending and date != current:
            yield current, pending
            pending = []
        current = date
        pending.append(pair)
        if len(pending) >= _CHUNK:
            yield current, pending
            pending = []
    if pending:
        yield current, pending


def _batch(pairs: list[LearningPair], schema: pa.Schema) -> pa.RecordBatch:
    (base,) = record_batches(pairs, PARQUET)
    columns = {name: base.column(name) for name in base.schema.names}
    micros = pa.array([round(p.decision.timestamp * 1e6) for p in pairs], pa.int64())
    columns["timestamp"] = micros.cast(pa.timestamp("us", tz="UTC"))
    for kind in REWARD_KINDS:
        columns[kind] = pa.array([kind in p.kinds for p in pairs], pa.bool_())
        columns[f"{kind}_value"] = pa.array([p.kinds.get(kind) for p in pairs], pa.float64())
    return pa.RecordBatch.from_pydict(columns, schema=schema)


def _write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{MANIFEST}.", suffix=_TMP)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / MANIFEST)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
