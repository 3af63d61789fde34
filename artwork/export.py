"""Export of the decision log to the logged-feedback format, as CSV or Parquet."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from artwork.errors import InvalidRecordError
from artwork.join import RewardFn
from artwork.records import LearningPair
from artwork.store import Store

# The columns of the logged-feedback format, then provenance.
COLUMNS = (
    "event_id", "timestamp", "user_id", "title_id", "context", "candidates", "pmf",
    "action", "probability", "reward", "policy", "model_version",
)
CSV, PARQUET = "csv", "parquet"
FORMATS = (CSV, PARQUET)
_BATCH = 20_000


def log_schema(fmt: str) -> pa.Schema:
    """The Arrow schema of the logged-feedback format as written in `fmt`."""
    # Parquet keeps lists as lists; CSV has no list type, so they travel as JSON text.
    candidates = pa.list_(pa.string()) if fmt == PARQUET else pa.string()
    pmf = pa.list_(pa.float64()) if fmt == PARQUET else pa.string()
    return pa.schema(
        [
            ("event_id", pa.string()), ("timestamp", pa.float64()), ("user_id", pa.string()),
            ("title_id", pa.string()), ("context", pa.string()), ("candidates", candidates),
            ("pmf", pmf), ("action", pa.string()), ("probability", pa.float64()),
            ("reward", pa.float64()), ("policy", pa.string()), ("model_version", pa.int64()),
        ]
    )


def record_batches(pairs: Iterable[LearningPair], fmt: str) -> Iterator[pa.RecordBatch]:
    """The rows of the logged-feedback format, a batch at a time, from joined decisions."""
    schema = log_schema(fmt)
    as_text = fmt == CSV
    cols: dict[str, list] = {c: [] for c in COLUMNS}
    for pair in pairs:
        d = pair.decision
        cols["event_id"].append(d.event_id)
        cols["timestamp"].append(d.timestamp)
        cols["user_id"].append(d.user_id)
        cols["title_id"].append(d.title_id)
        cols["context"].append(json.dumps(dict(d.context), sort_keys=True))
        cols["candidates"].append(json.dumps(list(d.candidates)) if as_text else list(d.candidates))
        cols["pmf"].append(json.dumps(list(d.pmf)) if as_text else list(d.pmf))
        cols["action"].append(d.action)
        cols["probability"].append(d.probability)
        cols["reward"].append(pair.reward)
        cols["policy"].append(d.policy)
        cols["model_version"].append(d.model_version)
        if len(cols["event_id"]) >= _BATCH:
            yield pa.RecordBatch.from_pydict(cols, schema=schema)
            cols = {c: [] for c in COLUMNS}
    if cols["event_id"]:
        yield pa.RecordBatch.from_pydict(cols, schema=schema)


def format_of(path: Path, fmt: str | None = None) -> str:
    """The export format named explicitly or by the file's suffix."""
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidRecordError(
            f"{path.name}: cannot tell the format; name the file .csv or .parquet"
        )
    return fmt


def why_nothing_to_export(store: Store, window: float, now: float | None = None) -> str:
    """Why an export over `window` has no rows: no decisions, or none whose window has closed."""
    now = time.time() if now is None else now
    count = store.count_decisions()
    if count == 0:
        return "the store holds no decisions yet"
    oldest = store.first_decision_time(None, float("inf"))
    return (f"none of the {count} logged decisions has a closed {window:g}-second reward window "
            f"yet (the oldest is {now - oldest:.0f} s old)")


def export_log(
    store: Store,
    path: Path | str,
    *,
    window: float,
    reward_of: RewardFn,
    fmt: str | None = None,
    now: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write every decision whose reward window has closed, with its reward; returns rows.

    The file appears atomically: it is written under a temporary name and renamed.
    """
    path = Path(path)
    fmt = format_of(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    schema = log_schema(fmt)
    rows = 0
    try:
        writer = pq.ParquetWriter(tmp, schema) if fmt == PARQUET else pacsv.CSVWriter(tmp, schema)
        with writer:
            for batch in record_batches(store.learning_pairs(window, reward_of, now=now), fmt):
                writer.write_batch(batch)
                rows += batch.num_rows
                if progress:
                    progress(batch.num_rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rows
