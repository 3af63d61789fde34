"""Reading logged feedback from CSV and Parquet files (the store's export or foreign logs), and writing it.

Rows are numbered from 1 (the first data row after the header) in every error message.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from artwork.export import CSV, log_schema

from simulator.errors import InvalidLogError, LogFormatError, MissingColumnError
from simulator.log_columns import blank, is_text, list_column, numbers, padded, strings
from simulator.log_contexts import context_from_columns, context_json
from simulator.log_sources import LogPart, log_parts, printable
from simulator.logs import EXPORT_MAPPING, ColumnMapping, LoggedFeedback, _bad, _first, candidate_lists
from simulator.rowwise import first_true

__all__ = ["read_batches", "read_log", "write_log"]

DEFAULT_CHUNK_ROWS = 1 << 20
_CSV_BLOCK_BYTES = 8 << 20
# A CSV file up to this size is read in one multi-threaded pass; a larger one is streamed
# block by block, so that its whole text is never held at once.
_CSV_WHOLE_BYTES = 256 << 20
_CSV_HEADER_BYTES = 1 << 20
_SNIFF_BYTES = 64 << 10


# ---------------------------------------------------------------- reading


def _detect_format(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in ("csv", "parquet"):
            raise LogFormatError(f"unknown log format {format!r}; use csv or parquet")
        return format
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise LogFormatError(f"{path.name}: cannot tell the format from the suffix {suffix!r}")


def _batches(path: Path, fmt: str, columns: Sequence[str], chunk_rows: int,
             string_columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
    if fmt == "parquet":
        # Ids repeat across rows: read as dictionaries, they are decoded once per distinct value.
        schema = pq.ParquetFile(path).schema_arrow
        texts = [c if not pa.types.is_list(schema.field(c).type) else f"{c}.list.element"
                 for c in string_columns if c in columns and c in schema.names
                 and is_text(schema.field(c).type)]
        yield from pq.ParquetFile(path, read_dictionary=texts).iter_batches(batch_size=chunk_rows,
                                                                          columns=list(columns))
        return
    convert = pacsv.ConvertOptions(
        include_columns=list(columns),
        column_types={c: pa.string() for c in string_columns},
        strings_can_be_null=False,
    )
    options = pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES)
    if path.stat().st_size <= _CSV_WHOLE_BYTES:
        # Read at once, blocks parsed on every core; the streaming reader is one block at a time.
        yield from pacsv.read_csv(path, read_options=options, convert_options=convert).to_batches()
        return
    yield from pacsv.open_csv(path, read_options=options, convert_options=convert)


def _schema_names(path: Path, fmt: str) -> list[str]:
    try:
        if fmt == "parquet":
            return list(pq.ParquetFile(path).schema_arrow.names)
        _check_text(path)
        # The names are in the header: a small first block finds them without parsing more.
        return list(pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=_CSV_HEADER_BYTES)).schema.names)
    except FileNotFoundError:
        raise LogFormatError(f"{path}: no such file") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise LogFormatError(f"{path.name}: cannot be read as {fmt.upper()} ({printable(exc)})") from None


def _check_text(path: Path) -> None:
    """Refuse a binary file named as CSV before its bytes reach an error message."""
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the sample
            raise LogFormatError(f"{path.name}: is not CSV text (byte {exc.start + 1} is not UTF-8; "
                                 "a binary file?)") from None
    if b"\0" in head:
        raise LogFormatError(f"{path.name}: is not CSV text (it holds NUL bytes; a binary file?)")


class _Vocabulary:
    """Artwork id -> dense index, grown chunk by chunk (and the contexts already written)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        # context column values -> their JSON text, for contexts met again in later chunks
        self.contexts: dict[tuple, str] = {}

    def encode(self, values: pa.Array | np.ndarray) -> np.ndarray:
        """Dense ids of `values` (Arrow strings or a numpy array), adding unseen ids."""
        if not isinstance(values, (pa.Array, pa.ChunkedArray)):
            values = pa.array(np.asarray(values, dtype=object).tolist(), pa.string())
        if len(values) == 0:
            return np.zeros(0, dtype=np.int64)
        encoded = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values.cast(pa.string()))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        uniq = encoded.dictionary.to_pylist()
        ids = np.fromiter((self.index.setdefault(u, len(self.index)) for u in uniq), dtype=np.int64, count=len(uniq))
        return ids[encoded.indices.to_numpy(zero_copy_only=False)]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.index)


@dataclass
class _Chunk:
    action_id: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray | None
    cand_values: np.ndarray | None
    cand_offsets: np.ndarray | None
    pmf_values: np.ndarray | None
    extras: dict[str, np.ndarray]


def read_log(
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    format: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    sort_by_time: bool = True,
    first_row: int = 1,
    log_actions: Sequence[str] = (),
) -> LoggedFeedback:
    """Read a logged-feedback CSV or Parquet log in chunks and validate it.

    Args:
        path: the log: a file, a directory of (Hive-style partitioned) files, or a glob.
        mapping: which column holds what; None reads the store's export as written.
        format: "csv" or "parquet"; None infers it from each file's suffix.
        chunk_rows: rows per Parquet batch (CSV is streamed in blocks of a few MiB).
        sort_by_time: order rows by the time column (stable) when one is mapped.
        first_row: the number of the first row (a partition's offset in a larger log).
        log_actions: for a partition of a larger log, the artworks the larger log chose: with no
            candidates column every row offers them, and they count as shown by the logging policy.
    Returns:
        the validated LoggedFeedback; `row_number` keeps each row's number in the files.
    Raises:
        MissingColumnError: a mapped column is not in the file.
        InvalidLogError: no rows, or a value that cannot be evaluated; the message names column and row.
        LogFormatError: the file cannot be read in that format.
    """
    parts = log_parts(path, format)
    mapping = EXPORT_MAPPING if mapping is None else mapping
    available = _schema_names(parts[0].path, parts[0].format) + [k for k, _ in parts[0].partition]
    source = Path(path).name or str(path)
    plan = _Plan.of(mapping, available, source if len(parts) == 1 else str(path))
    log = plan.read(_part_batches(parts, plan, chunk_rows), sort_by_time, first_row, log_actions)
    if log.n_rounds == 0:
        raise InvalidLogError(f"{source}: has no rows (a header and nothing else?); nothing to evaluate")
    return log


def _part_batches(parts: Sequence[LogPart], plan: "_Plan", chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Every part's record batches, with its partition values as columns."""
    for part in parts:
        values = dict(part.partition)
        names = _schema_names(part.path, part.format) if len(parts) > 1 else None
        in_file = [c for c in plan.columns if c not in values]
        if names is not None:
            missing = [c for c in in_file if c not in names]
            if missing:
                raise MissingColumnError(f"column {missing[0]!r} not found in {part.path.name} "
                                         f"(columns: {', '.join(names)})", role=plan.role_of(missing[0]))
        try:
            for batch in _batches(part.path, part.format, in_file, chunk_rows, plan.string_columns):
                for key in (c for c in plan.columns if c in values):
                    batch = batch.append_column(key, pa.array([values[key]] * batch.num_rows, pa.string()))
                yield batch
        except pa.ArrowInvalid as exc:
            raise LogFormatError(f"{part.path.name}: cannot be read as {part.format.upper()} "
                                 f"({printable(exc)})") from None


def read_batches(batches: Iterable[pa.RecordBatch], schema: pa.Schema,
                 mapping: ColumnMapping | None = None, *, source: str = "the log",
                 sort_by_time: bool = True) -> LoggedFeedback:
    """Logged feedback from Arrow record batches of `schema` (e.g. the store's export in memory)."""
    plan = _Plan.of(EXPORT_MAPPING if mapping is None else mapping, list(schema.names), source)
    return plan.read(batches, sort_by_time)


@dataclass(frozen=True)
class _Plan:
    """Which columns of a log to read, and as what."""

    mapping: ColumnMapping
    wanted: Mapping[str, str]
    context_columns: tuple[str, ...]
    columns: tuple[str, ...]
    string_columns: tuple[str, ...]
    names: Mapping[str, str]

    @classmethod
    def of(cls, mapping: ColumnMapping, available: Sequence[str], source: str) -> "_Plan":
        context_cols = mapping.resolve_context(available)
        wanted = {
            "action": mapping.action, "reward": mapping.reward, "pscore": mapping.propensity,
            "candidates": mapping.candidates, "pmf": mapping.pmf, "timestamp": mapping.time,
            "position": mapping.position, "event_id": mapping.event_id, "user_id": mapping.user,
            "title_id": mapping.title, "context": mapping.context_json,
        }
        wanted = {k: v for k, v in wanted.items() if v}
        for key, col in list(wanted.items()) + [("context", c) for c in context_cols]:
            if col not in available:
                raise MissingColumnError(
                    f"column {col!r} ({key}) not found in {source} (columns: {', '.join(available)})",
                    role=key)
        columns = tuple(dict.fromkeys(list(wanted.values()) + list(context_cols)))
        string_cols = tuple(c for k, c in wanted.items()
                            if k in ("action", "candidates", "pmf", "event_id", "user_id",
                                     "title_id", "context"))
        names = dict(wanted)
        if context_cols and "context" not in names:
            names["context"] = ",".join(context_cols)
        names.setdefault("pscore", mapping.pmf or "probability")
        return cls(mapping, wanted, context_cols, columns, string_cols, names)

    def role_of(self, column: str) -> str:
        """What a column was mapped to hold."""
        return next((k for k, c in self.wanted.items() if c == column), "context")

    def read(self, batches: Iterable[pa.RecordBatch], sort_by_time: bool, first_row: int = 1,
             log_actions: Sequence[str] = ()) -> LoggedFeedback:
        vocab = _Vocabulary()
        if log_actions and not self.mapping.candidates:
            vocab.encode(np.asarray(list(log_actions), dtype=object))
        chunks: list[_Chunk] = []
        row0 = first_row
        for batch in batches:
            chunks.append(_read_chunk(batch, self.wanted, self.context_columns, vocab, row0))
            row0 += batch.num_rows
        return _assemble(chunks, vocab, self.mapping, self.names, sort_by_time, first_row, log_actions)


def _read_chunk(batch: pa.RecordBatch, wanted: Mapping[str, str], context_cols: Sequence[str],
                vocab: _Vocabulary, row0: int) -> _Chunk:
    col = batch.column
    action_col = col(wanted["action"])
    missing = np.flatnonzero(blank(action_col))
    if missing.size:
        raise _bad(wanted["action"], int(missing[0]) + row0, "is empty; expected an artwork id")
    reward = numbers(col(wanted["reward"]), wanted["reward"], row0)
    pscore = numbers(col(wanted["pscore"]), wanted["pscore"], row0) if "pscore" in wanted else None
    cand_values = cand_offsets = pmf_values = None
    if "candidates" in wanted:
        values, cand_offsets = list_column(col(wanted["candidates"]), wanted["candidates"], row0, str)
        cand_values = vocab.encode(values)
    action_id = vocab.encode(action_col)
    if "pmf" in wanted:
        pmf_values, pmf_offsets = list_column(col(wanted["pmf"]), wanted["pmf"], row0, float)
        if cand_offsets is not None and not np.array_equal(pmf_offsets, cand_offsets):
            row = _first(np.diff(pmf_offsets) != np.diff(cand_offsets))
            raise _bad(wanted["pmf"], row + row0,
                       f"pmf has {int(np.diff(pmf_offsets)[row])} entries for "
                       f"{int(np.diff(cand_offsets)[row])} candidates")
        if cand_offsets is None:
            raise InvalidLogError(f"column {wanted['pmf']!r}: a pmf needs a candidates column in the same order")
    extras: dict[str, np.ndarray] = {}
    for key in ("timestamp", "position"):
        if key in wanted:
            extras[key] = numbers(col(wanted[key]), wanted[key], row0)
    for key in ("event_id", "user_id", "title_id"):
        if key in wanted:
            extras[key] = strings(col(wanted[key]))
    if "context" in wanted:
        extras["context"] = context_json(col(wanted["context"]), wanted["context"], row0)
    elif context_cols:
        extras["context"] = context_from_columns(batch, context_cols, vocab.contexts)
    return _Chunk(action_id, reward, pscore, cand_values, cand_offsets, pmf_values, extras)


def _assemble(chunks: list[_Chunk], vocab: _Vocabulary, mapping: ColumnMapping,
              names: Mapping[str, str], sort_by_time: bool, first_row: int = 1,
              log_actions: Sequence[str] = ()) -> LoggedFeedback:
    action_names = vocab.names
    action_id = _joined([c.action_id for c in chunks], np.int64)
    n = action_id.shape[0]
    pmf = None
    if mapping.candidates:
        values = _joined([c.cand_values for c in chunks], np.int64)
        offsets = _join_offsets([c.cand_offsets for c in chunks])
        candidates = padded(values, offsets, -1, np.int64)
        if mapping.pmf:
            pmf = padded(_joined([c.pmf_values for c in chunks], np.float64), offsets, 0.0, np.float64)
    else:
        # "All actions seen": every row offers every artwork the log ever chose, in name order.
        order = np.argsort(np.asarray(action_names, dtype=object)) if action_names else np.zeros(0, np.int64)
        candidates = np.broadcast_to(order.astype(np.int64), (n, len(order)))
    lists = candidate_lists(candidates)
    action, found = _positions(candidates, lists, action_id, len(action_names))
    if not found.all():
        row = _first(~found)
        cands = [action_names[i] for i in candidates[row] if i >= 0]
        raise _bad(names["action"], row + first_row,
                   f"action {action_names[action_id[row]]!r} is not among the candidates {cands}")
    if chunks and chunks[0].pscore is not None:
        pscore = _joined([c.pscore for c in chunks], np.float64)
    elif pmf is not None:
        pscore = pmf[np.arange(n), action]
    else:
        pscore = np.zeros(0)
    extras = {k: _joined([c.extras[k] for c in chunks], None) for k in (chunks[0].extras if chunks else {})}
    log = LoggedFeedback(
        action=action, reward=_joined([c.reward for c in chunks], np.float64),
        pscore=pscore, candidates=candidates, action_names=action_names, pmf=pmf,
        row_number=np.arange(first_row, first_row + n), chosen_elsewhere=frozenset(log_actions), known_lists=lists,
        column_names=names, first_row=first_row, **extras,
    )
    if sort_by_time and log.timestamp is not None and n > 1 and (np.diff(log.timestamp) < 0).any():
        log = log.take(np.argsort(log.timestamp, kind="stable"))
    return log


# Above this many entries (distinct lists x artworks) the position table is not built.
_POSITION_TABLE_ENTRIES = 1 << 24


def _positions(candidates: np.ndarray, lists: tuple[np.ndarray, np.ndarray], action_id: np.ndarray,
               n_actions: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the column of its action among its candidates (the first, if listed twice) and
    whether it is there: looked up per distinct candidate list, not compared row by row."""
    first, index = lists
    if candidates.shape[1] == 0:  # no candidates at all: no action is among them
        return np.zeros(index.shape[0], np.int64), np.zeros(index.shape[0], bool)
    if first.shape[0] * n_actions > _POSITION_TABLE_ENTRIES:  # lists that rarely repeat
        return first_true(candidates == action_id[:, None])
    distinct = candidates[first]
    table = np.full((first.shape[0], n_actions + 1), -1, np.int64)  # the last column: pads
    each_list = np.arange(first.shape[0])
    for column in range(distinct.shape[1] - 1, -1, -1):  # the first occurrence written last
        table[each_list, distinct[:, column]] = column
    action = table[index, action_id]
    found = action >= 0
    return np.where(found, action, 0), found


def _joined(parts: list[np.ndarray], dtype: type | None) -> np.ndarray:
    """The chunks' arrays end to end; a single chunk's array as it is (no copy)."""
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def _join_offsets(parts: list[np.ndarray]) -> np.ndarray:
    if not parts:
        return np.zeros(1, dtype=np.int64)
    out = [parts[0]]
    for part in parts[1:]:
        out.append(part[1:] + out[-1][-1])
    return np.concatenate(out)


# ---------------------------------------------------------------- writing


def write_log(log: LoggedFeedback, path: str | Path, *, format: str | None = None,
              policy: str = "logged", model_version: int = 0) -> Path:
    """Write a log in the store's export format (CSV with JSON list strings, or Parquet with lists)."""
    path = Path(path)
    fmt = _detect_format(path, format)
    n = log.n_rounds
    names = np.asarray(log.action_names, dtype=object)
    cand_lists = [names[row[row >= 0]].tolist() for row in log.candidates]
    if log.pmf is not None:
        pmf_lists = [p[: len(c)].tolist() for p, c in zip(log.pmf, cand_lists)]
    else:
        pmf_lists = [None] * n
    columns = {
        "event_id": log.event_id.tolist() if log.event_id is not None else [f"e{i}" for i in range(n)],
        "timestamp": log.timestamp.tolist() if log.timestamp is not None else [float(i) for i in range(n)],
        "user_id": log.user_id.tolist() if log.user_id is not None else [""] * n,
        "title_id": log.title_id.tolist() if log.title_id is not None else [""] * n,
        "context": log.context.tolist() if log.context is not None else ["{}"] * n,
        "candidates": cand_lists,
        "pmf": pmf_lists,
        "action": names[log.action_id].tolist(),
        "probability": log.pscore.tolist(),
        "reward": log.reward.tolist(),
        "policy": [policy] * n,
        "model_version": [model_version] * n,
    }
    if fmt == CSV:
        columns["candidates"] = [json.dumps(c) for c in cand_lists]
        columns["pmf"] = [json.dumps(p) for p in pmf_lists]
    table = pa.table(columns, schema=log_schema(fmt))
    if fmt == CSV:
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path
