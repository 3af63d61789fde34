"""Logged bandit feedback as typed arrays, and readers for the store's export and foreign logs.

Rows are numbered from 1 (the first data row after the header) in every error message.
"""
from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bandit.errors import BanditError
from bandit.types import Action, Context

from simulator.errors import InvalidLogError, LogFormatError, MissingColumnError

__all__ = [
    "EXPORT_COLUMNS",
    "EXPORT_MAPPING",
    "BanditRows",
    "ColumnMapping",
    "LoggedFeedback",
    "read_log",
    "write_log",
]

# The store's export: one row per decision (see DESIGN.md, "Logged feedback format").
EXPORT_COLUMNS = (
    "event_id", "timestamp", "user_id", "title_id", "context", "candidates", "pmf",
    "action", "probability", "reward", "policy", "model_version",
)
PMF_TOLERANCE = 1e-6
PSCORE_TOLERANCE = 1e-9
DEFAULT_CHUNK_ROWS = 65_536
_CSV_BLOCK_BYTES = 8 << 20


@dataclass(frozen=True)
class ColumnMapping:
    """Which column of a log holds what; the default reads the store's export with no mapping."""

    action: str = "action"
    reward: str = "reward"
    propensity: str | None = "probability"
    context: tuple[str, ...] = ()
    context_json: str | None = None
    candidates: str | None = "candidates"
    pmf: str | None = None
    time: str | None = None
    position: str | None = None
    event_id: str | None = None
    user: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.context, str):
            object.__setattr__(self, "context", tuple(c for c in self.context.split(",") if c))
        if self.propensity is None and self.pmf is None:
            raise InvalidLogError(
                "column mapping has neither a propensity nor a pmf column; off-policy evaluation "
                "needs the logging probability of each action (--propensity-col NAME)"
            )
        for name in ("action", "reward"):
            if not getattr(self, name):
                raise InvalidLogError(f"column mapping: the {name} column name is empty (--{name}-col NAME)")

    def resolve_context(self, columns: Sequence[str]) -> tuple[str, ...]:
        """Context column names, with glob patterns (`user_feature_*`) expanded against `columns`."""
        used = {c for c in (self.action, self.reward, self.propensity, self.candidates, self.pmf,
                            self.time, self.position, self.event_id, self.user, self.title) if c}
        resolved: list[str] = []
        for pattern in self.context:
            if any(ch in pattern for ch in "*?["):
                hits = [c for c in columns if fnmatch.fnmatchcase(c, pattern) and c not in used]
                if not hits:
                    raise MissingColumnError(
                        f"context pattern {pattern!r} matches no column (columns: {', '.join(columns)}); "
                        "fix --context-cols"
                    )
                resolved.extend(h for h in hits if h not in resolved)
            elif pattern not in resolved:
                resolved.append(pattern)
        return tuple(resolved)


EXPORT_MAPPING = ColumnMapping(
    action="action", reward="reward", propensity="probability", context_json="context",
    candidates="candidates", pmf="pmf", time="timestamp", event_id="event_id",
    user="user_id", title="title_id",
)

_DEFAULT_NAMES = {
    "action": "action", "reward": "reward", "pscore": "probability", "candidates": "candidates",
    "pmf": "pmf", "context": "context", "timestamp": "timestamp", "position": "position",
}


def _bad(column: str, row: int, message: str) -> InvalidLogError:
    return InvalidLogError(f"column {column!r}, row {row}: {message}")


@dataclass(frozen=True, eq=False)
class LoggedFeedback:
    """Logged bandit feedback, one row per decision, as validated numpy arrays.

    `action` is the position of the logged action in its row's candidate list;
    `candidates[i, k]` is an index into `action_names` (-1 pads shorter rows);
    `pmf[i, k]` is the logging policy's probability of candidate k (0 on pads) when logged;
    `pscore[i]` is the probability of the logged action; `context[i]` is a JSON object string
    `{"features": {...}, "genre_affinity": {...}, "title_genres": [...]}`.
    """

    action: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray
    candidates: np.ndarray
    action_names: tuple[str, ...]
    pmf: np.ndarray | None = None
    context: np.ndarray | None = None
    timestamp: np.ndarray | None = None
    position: np.ndarray | None = None
    event_id: np.ndarray | None = None
    user_id: np.ndarray | None = None
    title_id: np.ndarray | None = None
    column_names: Mapping[str, str] = field(default_factory=dict, repr=False)
    first_row: int = field(default=1, repr=False)

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("action", np.asarray(self.action, dtype=np.int64))
        set_("reward", np.asarray(self.reward, dtype=np.float64))
        set_("pscore", np.asarray(self.pscore, dtype=np.float64))
        set_("candidates", np.asarray(self.candidates, dtype=np.int64))
        set_("action_names", tuple(self.action_names))
        if self.pmf is not None:
            set_("pmf", np.asarray(self.pmf, dtype=np.float64))
        for name in ("timestamp",):
            if getattr(self, name) is not None:
                set_(name, np.asarray(getattr(self, name), dtype=np.float64))
        if self.position is not None:
            set_("position", np.asarray(self.position, dtype=np.int64))
        for name in ("context", "event_id", "user_id", "title_id"):
            if getattr(self, name) is not None:
                set_(name, np.asarray(getattr(self, name), dtype=object))
        names = {**_DEFAULT_NAMES, **self.column_names}
        set_("column_names", names)
        _validate(self, names, self.first_row)

    @property
    def n_rounds(self) -> int:
        """Number of logged decisions."""
        return int(self.action.shape[0])

    @property
    def n_actions(self) -> int:
        """Number of distinct artworks named anywhere in the log."""
        return len(self.action_names)

    @property
    def max_candidates(self) -> int:
        """Width of the candidate matrix: the longest candidate list."""
        return int(self.candidates.shape[1])

    @property
    def n_candidates(self) -> np.ndarray:
        """Number of candidates in each row."""
        return (self.candidates >= 0).sum(axis=1)

    @property
    def action_id(self) -> np.ndarray:
        """Index into `action_names` of each logged action."""
        return self.candidates[np.arange(self.n_rounds), self.action]

    def candidate_names(self, row: int) -> tuple[str, ...]:
        """The candidate artwork ids of one row, in logged order."""
        ids = self.candidates[row]
        return tuple(self.action_names[i] for i in ids[ids >= 0])

    def context_dict(self, row: int) -> dict[str, Any]:
        """The parsed context object of one row ({} when the log holds no context)."""
        if self.context is None or self.context[row] is None:
            return {}
        try:
            value = json.loads(self.context[row])
        except (TypeError, ValueError) as exc:
            raise _bad(self.column_names["context"], row + self.first_row, f"context is not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise _bad(self.column_names["context"], row + self.first_row, "context is not a JSON object")
        return value

    def bandit_context(self, row: int) -> Context:
        """The bandit Context of one row, rebuilt from the logged context object."""
        data = {**self.context_dict(row),
                "user_id": "" if self.user_id is None else str(self.user_id[row]),
                "title_id": "" if self.title_id is None else str(self.title_id[row])}
        try:
            return Context.from_dict(data)
        except (BanditError, TypeError, ValueError, AttributeError) as exc:
            raise _bad(self.column_names["context"], row + self.first_row,
                       f"context must hold 'features' and 'genre_affinity' objects and a 'title_genres' "
                       f"list ({exc})") from None

    def bandit_actions(self, row: int, catalog: Mapping[str, Action] | None = None) -> list[Action]:
        """The candidate Actions of one row: from `catalog` when it knows the id, else a bare Action."""
        catalog = catalog or {}
        return [catalog.get(name) or Action(id=name) for name in self.candidate_names(row)]

    def take(self, rows: np.ndarray) -> "LoggedFeedback":
        """A new log holding the given rows (indices or boolean mask), in that order."""
        rows = np.arange(self.n_rounds)[rows]
        pick = lambda a: None if a is None else a[rows]  # noqa: E731
        return LoggedFeedback(
            action=self.action[rows], reward=self.reward[rows], pscore=self.pscore[rows],
            candidates=np.ascontiguousarray(self.candidates[rows]), action_names=self.action_names,
            pmf=pick(self.pmf), context=pick(self.context), timestamp=pick(self.timestamp),
            position=pick(self.position), event_id=pick(self.event_id), user_id=pick(self.user_id),
            title_id=pick(self.title_id), column_names=self.column_names,
        )


class BanditRows:
    """Bandit Contexts and candidate Actions of a log's rows, each rebuilt once per distinct logged value."""

    def __init__(self, log: LoggedFeedback, catalog: Mapping[str, Action] | None = None) -> None:
        self.log = log
        self.catalog = catalog or {}
        self._contexts: dict[tuple, Context] = {}
        self._actions: dict[bytes, list[Action]] = {}

    def key(self, row: int) -> tuple:
        """What a policy's pmf on this row depends on: context, user, title and candidates."""
        log = self.log
        return (None if log.context is None else log.context[row],
                None if log.user_id is None else log.user_id[row],
                None if log.title_id is None else log.title_id[row],
                log.candidates[row].tobytes())

    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows to compute, for every row the first row with the same key): compute once, copy with `out[first]`."""
        seen: dict[tuple, int] = {}
        first = np.fromiter((seen.setdefault(self.key(r), r) for r in range(self.log.n_rounds)),
                            dtype=np.int64, count=self.log.n_rounds)
        return np.fromiter(seen.values(), dtype=np.int64, count=len(seen)), first

    def context(self, row: int) -> Context:
        """The bandit Context of `row`."""
        key = self.key(row)[:3]
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self._contexts[key] = self.log.bandit_context(row)
        return ctx

    def actions(self, row: int) -> list[Action]:
        """The candidate Actions of `row` (from the catalog when it knows them)."""
        key = self.log.candidates[row].tobytes()
        acts = self._actions.get(key)
        if acts is None:
            acts = self._actions[key] = self.log.bandit_actions(row, self.catalog)
        return acts


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _validate(log: LoggedFeedback, names: Mapping[str, str], first_row: int) -> None:
    n = log.action.shape[0]
    if log.action.ndim != 1:
        raise InvalidLogError(f"column {names['action']!r}: expected one value per row, got shape {log.action.shape}")
    if log.candidates.ndim != 2 or log.candidates.shape[0] != n:
        raise InvalidLogError(
            f"column {names['candidates']!r}: expected a ({n}, max_candidates) matrix, got shape {log.candidates.shape}")
    for key, arr in (("reward", log.reward), ("pscore", log.pscore), ("timestamp", log.timestamp),
                     ("position", log.position), ("context", log.context), ("pmf", log.pmf)):
        if arr is not None and arr.shape[0] != n:
            raise InvalidLogError(f"column {names[key]!r}: {arr.shape[0]} rows, but the log has {n} actions")
    for key, arr in (("event_id", log.event_id), ("user_id", log.user_id), ("title_id", log.title_id)):
        if arr is not None and arr.shape[0] != n:
            raise InvalidLogError(f"column {names.get(key, key)!r}: {arr.shape[0]} rows, but the log has {n} actions")
    if n == 0:
        return
    width = log.candidates.shape[1]
    cands = log.candidates
    if width == 0 or (cands[:, 0] < 0).any():
        row = 0 if width == 0 else _first(cands[:, 0] < 0)
        raise _bad(names["candidates"], row + first_row, "no candidates; every decision needs at least one")
    if (cands >= len(log.action_names)).any() or (cands < -1).any():
        row = _first(((cands >= len(log.action_names)) | (cands < -1)).any(axis=1))
        raise _bad(names["candidates"], row + first_row, "candidate index outside action_names")
    valid = cands >= 0
    if width > 1:
        if (~valid[:, :-1] & valid[:, 1:]).any():
            row = _first((~valid[:, :-1] & valid[:, 1:]).any(axis=1))
            raise _bad(names["candidates"], row + first_row, "padding (-1) before a candidate")
        ordered = np.sort(np.where(valid, cands, -1 - np.arange(width)), axis=1)
        dup = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if dup.any():
            row = _first(dup)
            names_row = [log.action_names[i] for i in cands[row] if i >= 0]
            twice = next(a for a in names_row if names_row.count(a) > 1)
            raise _bad(names["candidates"], row + first_row, f"artwork {twice!r} is listed twice")
    n_cand = valid.sum(axis=1)
    bad_action = (log.action < 0) | (log.action >= n_cand)
    if bad_action.any():
        row = _first(bad_action)
        raise _bad(names["action"], row + first_row,
                   f"action is not among the {int(n_cand[row])} candidates")
    bad_reward = ~np.isfinite(log.reward)
    if bad_reward.any():
        row = _first(bad_reward)
        raise _bad(names["reward"], row + first_row, f"reward {float(log.reward[row])!r} is not a finite number")
    bad_p = ~((log.pscore > 0) & (log.pscore <= 1))
    if bad_p.any():
        row = _first(bad_p)
        raise _bad(names["pscore"], row + first_row,
                   f"propensity {float(log.pscore[row])!r} is outside (0, 1]; the logging policy must give "
                   "every logged action a positive probability")
    if log.pmf is not None:
        pmf = log.pmf
        if pmf.shape != cands.shape:
            raise InvalidLogError(f"column {names['pmf']!r}: shape {pmf.shape} differs from the candidates' {cands.shape}")
        bad_entry = (~np.isfinite(pmf) | (pmf < 0) | (pmf > 1) | (~valid & (pmf != 0))).any(axis=1)
        if bad_entry.any():
            row = _first(bad_entry)
            raise _bad(names["pmf"], row + first_row,
                       f"pmf {pmf[row][valid[row]].tolist()} has an entry outside [0, 1]")
        sums = pmf.sum(axis=1)
        bad_sum = np.abs(sums - 1.0) > PMF_TOLERANCE
        if bad_sum.any():
            row = _first(bad_sum)
            raise _bad(names["pmf"], row + first_row, f"pmf sums to {sums[row]:.9g}, not 1")
        logged = pmf[np.arange(n), log.action]
        mismatch = np.abs(logged - log.pscore) > PSCORE_TOLERANCE
        if mismatch.any():
            row = _first(mismatch)
            raise _bad(names["pscore"], row + first_row,
                       f"probability {float(log.pscore[row])!r} differs from the pmf's {float(logged[row])!r} "
                       "for the logged action")
    if log.timestamp is not None and not np.isfinite(log.timestamp).all():
        row = _first(~np.isfinite(log.timestamp))
        raise _bad(names["timestamp"], row + first_row, "timestamp is missing or not a number")


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
    raise LogFormatError(f"{path.name}: cannot tell the format from the suffix {suffix!r}; pass --format csv|parquet")


def _batches(path: Path, fmt: str, columns: Sequence[str], chunk_rows: int,
             string_columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
    if fmt == "parquet":
        yield from pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=list(columns))
        return
    convert = pacsv.ConvertOptions(
        include_columns=list(columns),
        column_types={c: pa.string() for c in string_columns},
        strings_can_be_null=False,
    )
    reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
                            convert_options=convert)
    yield from reader


def _schema_names(path: Path, fmt: str) -> list[str]:
    try:
        if fmt == "parquet":
            return list(pq.ParquetFile(path).schema_arrow.names)
        return list(pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES)).schema.names)
    except FileNotFoundError:
        raise LogFormatError(f"{path}: no such file") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise LogFormatError(f"{path.name}: cannot be read as {fmt.upper()} ({exc})") from None


class _Vocabulary:
    """Artwork id -> dense index, grown chunk by chunk."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def encode(self, values: pa.Array | np.ndarray) -> np.ndarray:
        """Dense ids of `values` (Arrow strings or a numpy array), adding unseen ids."""
        if not isinstance(values, (pa.Array, pa.ChunkedArray)):
            values = pa.array(np.asarray(values, dtype=object).tolist(), pa.string())
        if len(values) == 0:
            return np.zeros(0, dtype=np.int64)
        encoded = pc.dictionary_encode(values.cast(pa.string()))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        uniq = encoded.dictionary.to_pylist()
        ids = np.fromiter((self.index.setdefault(u, len(self.index)) for u in uniq), dtype=np.int64, count=len(uniq))
        return ids[encoded.indices.to_numpy(zero_copy_only=False)]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.index)


def _list_column(column: pa.Array, name: str, first_row: int, parse: type) -> tuple[np.ndarray, np.ndarray]:
    """Flatten a list column (Arrow list or JSON/'|'-separated strings) to values and row offsets."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        if column.null_count:
            row = _first(np.asarray(column.is_null()))
            raise _bad(name, row + first_row, "is empty (null)")
        offsets = column.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        values = column.flatten()
        if parse is float:
            values = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
        return values, offsets - offsets[0]
    texts = column.to_pylist()
    parsed: list = []
    lengths = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        if text is None or text == "":
            raise _bad(name, i + first_row, "is empty; expected a JSON list")
        text = str(text).strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                raise _bad(name, i + first_row, f"{text[:60]!r} is not a JSON list") from None
        else:
            items = [t.strip() for t in text.split("|")]
        if not isinstance(items, list):
            raise _bad(name, i + first_row, f"{text[:60]!r} is not a JSON list")
        lengths[i] = len(items)
        parsed.extend(items)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if parse is float:
        try:
            values = np.asarray(parsed, dtype=np.float64)
        except (TypeError, ValueError):
            row = next(i for i in range(len(texts)) if not _all_numbers(parsed[offsets[i]:offsets[i + 1]]))
            raise _bad(name, row + first_row, "holds a value that is not a number") from None
    else:
        values = np.asarray([str(v) for v in parsed], dtype=object)
    return values, offsets


def _all_numbers(items: list) -> bool:
    try:
        np.asarray(items, dtype=np.float64)
        return True
    except (TypeError, ValueError):
        return False


def _pad(values: np.ndarray, offsets: np.ndarray, fill: float, dtype: type) -> np.ndarray:
    lengths = np.diff(offsets)
    n = lengths.shape[0]
    width = int(lengths.max()) if n else 0
    out = np.full((n, width), fill, dtype=dtype)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(values.shape[0]) - np.repeat(offsets[:-1], lengths)
    out[rows, cols] = values
    return out


def _numbers(column: pa.Array, name: str, first_row: int) -> np.ndarray:
    if pa.types.is_timestamp(column.type):
        unit = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[column.type.unit]
        column = column.cast(pa.int64())
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64) / unit
    if pa.types.is_boolean(column.type):
        column = column.cast(pa.int8())
    if column.null_count:
        row = _first(np.asarray(column.is_null()))
        raise _bad(name, row + first_row, "is empty or NaN; expected a number")
    try:
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    except (TypeError, ValueError):
        values = column.to_pylist()
        for i, v in enumerate(values):
            try:
                float(v)
            except (TypeError, ValueError):
                raise _bad(name, i + first_row, f"{v!r} is not a number") from None
        raise


def _strings(column: pa.Array) -> np.ndarray:
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    return np.asarray(column.fill_null("").to_numpy(zero_copy_only=False), dtype=object)


def _context_from_columns(batch: pa.RecordBatch, columns: Sequence[str]) -> np.ndarray:
    lists = [batch.column(c).to_pylist() for c in columns]
    out = np.empty(batch.num_rows, dtype=object)
    for i, values in enumerate(zip(*lists)):
        features = {c: v for c, v in zip(columns, values)
                    if v is not None and not (isinstance(v, float) and math.isnan(v))}
        out[i] = json.dumps({"features": features}, sort_keys=True, default=str)
    return out


def _context_json(column: pa.Array, name: str, first_row: int) -> np.ndarray:
    """The context column as JSON object strings; parsed (and fully checked) when a row is used."""
    if pa.types.is_struct(column.type):  # a Parquet struct column
        return np.asarray([json.dumps(v, sort_keys=True) for v in column.to_pylist()], dtype=object)
    texts = pc.utf8_trim_whitespace(column.cast(pa.string()).fill_null("{}"))
    bad = np.asarray(pc.invert(pc.starts_with(texts, "{")))
    if bad.any():
        row = _first(bad)
        raise _bad(name, row + first_row, f"{texts[row].as_py()[:60]!r} is not a JSON object")
    return np.asarray(texts.to_numpy(zero_copy_only=False), dtype=object)


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
) -> LoggedFeedback:
    """Read a logged-feedback CSV or Parquet file in chunks and validate it.

    Args:
        path: the log file.
        mapping: which column holds what; None reads the store's export as written.
        format: "csv" or "parquet"; None infers it from the suffix.
        chunk_rows: rows per Parquet batch (CSV is streamed in blocks of a few MiB).
        sort_by_time: order rows by the time column (stable) when one is mapped.
    Returns:
        the validated LoggedFeedback.
    Raises:
        MissingColumnError: a mapped column is not in the file.
        InvalidLogError: a value that cannot be evaluated; the message names column and row.
        LogFormatError: the file cannot be read in that format.
    """
    path = Path(path)
    mapping = EXPORT_MAPPING if mapping is None else mapping
    fmt = _detect_format(path, format)
    available = _schema_names(path, fmt)
    context_cols = mapping.resolve_context(available)
    wanted = {
        "action": mapping.action, "reward": mapping.reward, "pscore": mapping.propensity,
        "candidates": mapping.candidates, "pmf": mapping.pmf, "timestamp": mapping.time,
        "position": mapping.position, "event_id": mapping.event_id, "user_id": mapping.user,
        "title_id": mapping.title, "context": mapping.context_json,
    }
    wanted = {k: v for k, v in wanted.items() if v}
    flags = {"action": "--action-col", "reward": "--reward-col", "pscore": "--propensity-col",
             "candidates": "--candidates-col", "timestamp": "--time-col", "position": "--position-col"}
    for key, col in list(wanted.items()) + [("context", c) for c in context_cols]:
        if col not in available:
            hint = f"; map it with {flags[key]} NAME" if key in flags else ""
            raise MissingColumnError(
                f"column {col!r} ({key}) not found in {path.name} (columns: {', '.join(available)}){hint}")
    columns = list(dict.fromkeys(list(wanted.values()) + list(context_cols)))
    string_cols = [c for k, c in wanted.items() if k in ("action", "candidates", "pmf", "event_id",
                                                         "user_id", "title_id", "context")]
    names = {k: v for k, v in wanted.items()}
    if context_cols and "context" not in names:
        names["context"] = ",".join(context_cols)
    names.setdefault("pscore", mapping.pmf or "probability")

    vocab = _Vocabulary()
    chunks: list[_Chunk] = []
    row0 = 1
    try:
        for batch in _batches(path, fmt, columns, chunk_rows, string_cols):
            chunks.append(_read_chunk(batch, wanted, context_cols, vocab, row0))
            row0 += batch.num_rows
    except pa.ArrowInvalid as exc:
        raise LogFormatError(f"{path.name}: cannot be read as {fmt.upper()} ({exc})") from None
    return _assemble(chunks, vocab, mapping, names, sort_by_time)


def _read_chunk(batch: pa.RecordBatch, wanted: Mapping[str, str], context_cols: Sequence[str],
                vocab: _Vocabulary, row0: int) -> _Chunk:
    col = batch.column
    action_col = col(wanted["action"])
    action = _strings(action_col)
    missing = np.flatnonzero(action == "")
    if missing.size:
        raise _bad(wanted["action"], int(missing[0]) + row0, "is empty; expected an artwork id")
    reward = _numbers(col(wanted["reward"]), wanted["reward"], row0)
    pscore = _numbers(col(wanted["pscore"]), wanted["pscore"], row0) if "pscore" in wanted else None
    cand_values = cand_offsets = pmf_values = None
    if "candidates" in wanted:
        values, cand_offsets = _list_column(col(wanted["candidates"]), wanted["candidates"], row0, str)
        cand_values = vocab.encode(values)
    action_id = vocab.encode(action_col)
    if "pmf" in wanted:
        pmf_values, pmf_offsets = _list_column(col(wanted["pmf"]), wanted["pmf"], row0, float)
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
            extras[key] = _numbers(col(wanted[key]), wanted[key], row0)
    for key in ("event_id", "user_id", "title_id"):
        if key in wanted:
            extras[key] = _strings(col(wanted[key]))
    if "context" in wanted:
        extras["context"] = _context_json(col(wanted["context"]), wanted["context"], row0)
    elif context_cols:
        extras["context"] = _context_from_columns(batch, context_cols)
    return _Chunk(action_id, reward, pscore, cand_values, cand_offsets, pmf_values, extras)


def _assemble(chunks: list[_Chunk], vocab: _Vocabulary, mapping: ColumnMapping,
              names: Mapping[str, str], sort_by_time: bool) -> LoggedFeedback:
    action_names = vocab.names
    action_id = np.concatenate([c.action_id for c in chunks]) if chunks else np.zeros(0, np.int64)
    n = action_id.shape[0]
    pmf = None
    if mapping.candidates:
        values = np.concatenate([c.cand_values for c in chunks]) if chunks else np.zeros(0, np.int64)
        offsets = _join_offsets([c.cand_offsets for c in chunks])
        candidates = _pad(values, offsets, -1, np.int64)
        if mapping.pmf:
            pmf = _pad(np.concatenate([c.pmf_values for c in chunks]), offsets, 0.0, np.float64)
    else:
        # "All actions seen": every row offers every artwork the log ever chose, in name order.
        order = np.argsort(np.asarray(action_names, dtype=object)) if action_names else np.zeros(0, np.int64)
        candidates = np.broadcast_to(order.astype(np.int64), (n, len(order)))
    hit = candidates == action_id[:, None]
    found = hit.any(axis=1)
    if not found.all():
        row = _first(~found)
        cands = [action_names[i] for i in candidates[row] if i >= 0]
        raise _bad(names["action"], row + 1,
                   f"action {action_names[action_id[row]]!r} is not among the candidates {cands}")
    action = hit.argmax(axis=1)
    if chunks and chunks[0].pscore is not None:
        pscore = np.concatenate([c.pscore for c in chunks])
    elif pmf is not None:
        pscore = pmf[np.arange(n), action]
    else:
        pscore = np.zeros(0)
    extras = {k: np.concatenate([c.extras[k] for c in chunks]) for k in (chunks[0].extras if chunks else {})}
    log = LoggedFeedback(
        action=action, reward=np.concatenate([c.reward for c in chunks]) if chunks else np.zeros(0),
        pscore=pscore, candidates=candidates, action_names=action_names, pmf=pmf,
        column_names=names, **extras,
    )
    if sort_by_time and log.timestamp is not None and n > 1 and (np.diff(log.timestamp) < 0).any():
        log = log.take(np.argsort(log.timestamp, kind="stable"))
    return log


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
    if fmt == "csv":
        columns["candidates"] = [json.dumps(c) for c in cand_lists]
        columns["pmf"] = [json.dumps(p) for p in pmf_lists]
        pacsv.write_csv(pa.table(columns), path)
    else:
        schema = pa.schema([
            ("event_id", pa.string()), ("timestamp", pa.float64()), ("user_id", pa.string()),
            ("title_id", pa.string()), ("context", pa.string()), ("candidates", pa.list_(pa.string())),
            ("pmf", pa.list_(pa.float64())), ("action", pa.string()), ("probability", pa.float64()),
            ("reward", pa.float64()), ("policy", pa.string()), ("model_version", pa.int64()),
        ])
        pq.write_table(pa.table(columns, schema=schema), path)
    return path
