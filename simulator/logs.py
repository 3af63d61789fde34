"""Logged bandit feedback as typed, validated arrays, and its rows as the bandit's types.

Rows are numbered from 1 (the first data row after the header) in every error message.
"""
from __future__ import annotations

import fnmatch
import json
from dataclasses import InitVar, dataclass, field
from functools import cached_property
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from artwork.records import PMF_TOLERANCE
from bandit.errors import BanditError
from bandit.types import Action, Context

from simulator.adapter import context_from_logged
from simulator.errors import InvalidLogError, MissingColumnError
from simulator.rowwise import row_sums

__all__ = ["EXPORT_MAPPING", "BanditRows", "ColumnMapping", "LoggedFeedback", "concat"]

PSCORE_TOLERANCE = 1e-9
# The context feature that carries a row's slot on the page, when the log has a position column.
POSITION_FEATURE = "position"


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
            raise MissingColumnError(
                "column mapping has neither a propensity nor a pmf column; off-policy evaluation "
                "needs the logging probability of each action", role="pscore")
        for name in ("action", "reward"):
            if not getattr(self, name):
                raise MissingColumnError(f"column mapping: the {name} column name is empty", role=name)

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
                        f"context pattern {pattern!r} matches no column (columns: {', '.join(columns)})",
                        role="context")
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
    `{"features": {...}, "genre_affinity": {...}, "title_genres": [...]}`; `position[i]`, when
    logged, is the row's slot on the page, which policies see as the context feature
    `position` (so a policy, and its estimate, can differ by slot); `row_number[i]` is the
    row's number in the file it was read from (1-based), whatever order the rows are in now;
    `chosen_elsewhere`, for a partition of a larger log, the artworks the larger log chose
    (which the logging policy showed, so a policy choosing them is supported there).
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
    row_number: np.ndarray | None = None
    chosen_elsewhere: frozenset[str] = frozenset()
    column_names: Mapping[str, str] = field(default_factory=dict, repr=False)
    first_row: int = field(default=1, repr=False)
    # `candidate_lists` when the reader already found them (not stored as a field).
    known_lists: InitVar[tuple[np.ndarray, np.ndarray] | None] = None

    def __post_init__(self, known_lists: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("action", np.asarray(self.action, dtype=np.int64))
        set_("reward", np.asarray(self.reward, dtype=np.float64))
        set_("pscore", np.asarray(self.pscore, dtype=np.float64))
        set_("candidates", np.asarray(self.candidates, dtype=np.int64))
        set_("action_names", tuple(self.action_names))
        set_("chosen_elsewhere", frozenset(self.chosen_elsewhere))
        if self.pmf is not None:
            set_("pmf", np.asarray(self.pmf, dtype=np.float64))
        for name in ("timestamp",):
            if getattr(self, name) is not None:
                set_(name, np.asarray(getattr(self, name), dtype=np.float64))
        for name in ("position", "row_number"):
            if getattr(self, name) is not None:
                set_(name, np.asarray(getattr(self, name), dtype=np.int64))
        for name in ("context", "event_id", "user_id", "title_id"):
            if getattr(self, name) is not None:
                set_(name, np.asarray(getattr(self, name), dtype=object))
        names = {**_DEFAULT_NAMES, **self.column_names}
        set_("column_names", names)
        if known_lists is not None:
            self.__dict__["candidate_lists"] = known_lists  # where the cached property keeps it
        _validate(self, names, self.first_row)

    @property
    def n_rounds(self) -> int:
        """Number of logged decisions."""
        return int(self.action.shape[0])

    @property
    def n_actions(self) -> int:
        """Number of distinct artworks named anywhere in the log."""
        return len(self.action_names)

    @cached_property
    def padded(self) -> bool:
        """Whether some row has fewer candidates than the widest (its matrix row ends in -1 pads)."""
        return bool(self.candidates.size) and bool((self.candidates[:, -1] < 0).any())

    @cached_property
    def candidate_lists(self) -> tuple[np.ndarray, np.ndarray]:
        """(the first row of each distinct candidate list, in order of appearance; each row's
        index into them): a title offers the same artworks row after row."""
        return candidate_lists(self.candidates)

    @cached_property
    def pmf_has_zeros(self) -> bool:
        """Whether the logged pmf gives some candidate (or pad) probability 0."""
        return self.pmf is not None and bool(self.pmf.size) and float(self.pmf.min()) == 0.0

    @property
    def max_candidates(self) -> int:
        """Width of the candidate matrix: the longest candidate list."""
        return int(self.candidates.shape[1])

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
        user_id = "" if self.user_id is None else str(self.user_id[row])
        title_id = "" if self.title_id is None else str(self.title_id[row])
        logged = self.context_dict(row)
        if self.position is not None:
            logged = {**logged, "features": {**logged.get("features", {}), POSITION_FEATURE: int(self.position[row])}}
        try:
            return context_from_logged(logged, user_id, title_id)
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
            title_id=pick(self.title_id), row_number=pick(self.row_number),
            chosen_elsewhere=self.chosen_elsewhere, column_names=self.column_names,
        )


def concat(logs: Sequence[LoggedFeedback]) -> LoggedFeedback:
    """The rows of several logs (e.g. partitions of one log) in order, in one log with their artworks' union."""
    if not logs:
        raise InvalidLogError("no logs to join")
    index: dict[str, int] = {}
    for log in logs:
        for name in log.action_names:
            index.setdefault(name, len(index))
    width = max(log.max_candidates for log in logs)
    candidates, pmfs = [], []
    for log in logs:
        remap = np.fromiter((index[name] for name in log.action_names), np.int64, count=log.n_actions)
        cands = np.full((log.n_rounds, width), -1, dtype=np.int64)
        valid = log.candidates >= 0
        cands[:, : log.max_candidates] = np.where(valid, remap[np.where(valid, log.candidates, 0)], -1)
        candidates.append(cands)
        if log.pmf is not None:
            pmf = np.zeros((log.n_rounds, width))
            pmf[:, : log.max_candidates] = log.pmf
            pmfs.append(pmf)

    def joined(name: str) -> np.ndarray | None:
        parts = [getattr(log, name) for log in logs]
        return None if any(p is None for p in parts) else np.concatenate(parts)

    first = logs[0]
    return LoggedFeedback(
        action=np.concatenate([log.action for log in logs]), reward=joined("reward"), pscore=joined("pscore"),
        candidates=np.concatenate(candidates), action_names=tuple(index),
        pmf=np.concatenate(pmfs) if len(pmfs) == len(logs) else None,
        context=joined("context"), timestamp=joined("timestamp"), position=joined("position"),
        event_id=joined("event_id"), user_id=joined("user_id"), title_id=joined("title_id"),
        row_number=joined("row_number"), chosen_elsewhere=frozenset().union(*(log.chosen_elsewhere for log in logs)),
        column_names=first.column_names, first_row=first.first_row,
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
        context = None if log.context is None else log.context[row]
        if log.position is not None:  # the slot is part of the context a policy sees
            context = (context, int(log.position[row]))
        return (context,
                None if log.user_id is None else log.user_id[row],
                None if log.title_id is None else log.title_id[row],
                log.candidates[row].tobytes())

    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """(the first row of each distinct key, in order; each row's index into them): compute once per key."""
        log = self.log
        if log.n_rounds == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        # Hash-encoded column by column (Arrow), the codes numbered in order of first appearance.
        code = log.candidate_lists[1]
        parts = [log.context, log.user_id, log.title_id, log.position]
        for values in (v for v in parts if v is not None):
            other = first_seen_codes(pa.array(values.tolist() if values.dtype == object else values))
            code = first_seen_codes(pa.array(code * (int(other.max()) + 1) + other))
        running = np.maximum.accumulate(code)
        return np.flatnonzero(np.r_[True, running[1:] > running[:-1]]), code

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


def candidate_lists(candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a candidate matrix (see LoggedFeedback.candidate_lists)."""
    n = candidates.shape[0]
    if candidates.strides[0] == 0 and n:  # one list broadcast to every row ("all actions seen")
        return np.zeros(1, np.int64), np.zeros(n, np.int64)
    if candidates.shape[1] == 0:
        return np.zeros(0, np.int64), np.zeros(n, np.int64)
    return distinct_rows(candidates)


def distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the first row of each distinct row of `matrix`, in order of appearance; each row's index into them)."""
    matrix = np.ascontiguousarray(matrix)
    n = matrix.shape[0]
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    width = matrix.shape[1] * matrix.itemsize
    code = first_seen_codes(pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n,
                                                                 [None, pa.py_buffer(matrix)]))
    running = np.maximum.accumulate(code)
    return np.flatnonzero(np.r_[True, running[1:] > running[:-1]]), code


def first_seen_codes(values: pa.Array) -> np.ndarray:
    """Dense codes of `values`: 0 for the first distinct value met, 1 for the next, ..."""
    encoded = pc.dictionary_encode(values)
    return np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)


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
    for key, arr in (("event_id", log.event_id), ("user_id", log.user_id), ("title_id", log.title_id),
                     ("row_number", log.row_number)):
        if arr is not None and arr.shape[0] != n:
            raise InvalidLogError(f"column {names.get(key, key)!r}: {arr.shape[0]} rows, but the log has {n} actions")
    if n == 0:
        return
    width = log.candidates.shape[1]
    # Each distinct candidate list is checked once, and a fault is reported at the first row that has it.
    at, code = log.candidate_lists
    cands = log.candidates[at]
    if width == 0 or (cands[:, 0] < 0).any():
        row = 0 if width == 0 else int(at[_first(cands[:, 0] < 0)])
        raise _bad(names["candidates"], row + first_row, "no candidates; every decision needs at least one")
    if (cands >= len(log.action_names)).any() or (cands < -1).any():
        row = int(at[_first(((cands >= len(log.action_names)) | (cands < -1)).any(axis=1))])
        raise _bad(names["candidates"], row + first_row, "candidate index outside action_names")
    valid = cands >= 0
    if width > 1:
        if (~valid[:, :-1] & valid[:, 1:]).any():
            row = int(at[_first((~valid[:, :-1] & valid[:, 1:]).any(axis=1))])
            raise _bad(names["candidates"], row + first_row, "padding (-1) before a candidate")
        ordered = np.sort(np.where(valid, cands, -1 - np.arange(width)), axis=1)
        dup = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if dup.any():
            row = int(at[_first(dup)])
            names_row = [log.action_names[i] for i in log.candidates[row] if i >= 0]
            twice = next(a for a in names_row if names_row.count(a) > 1)
            raise _bad(names["candidates"], row + first_row, f"artwork {twice!r} is listed twice")
    n_cand = valid.sum(axis=1)[code]
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
        if pmf.shape != log.candidates.shape:
            raise InvalidLogError(f"column {names['pmf']!r}: shape {pmf.shape} differs from the candidates' "
                                  f"{log.candidates.shape}")
        # min and max first: NaN makes both comparisons false, and only then is the row looked for
        if not (pmf.min() >= 0 and pmf.max() <= 1) or (not valid.all() and pmf[log.candidates < 0].any()):
            bad = ~((pmf >= 0) & (pmf <= 1)) | ((log.candidates < 0) & (pmf != 0))  # pads carry nothing
            row = _first(bad.any(axis=1))
            raise _bad(names["pmf"], row + first_row,
                       f"pmf {pmf[row][log.candidates[row] >= 0].tolist()} has an entry outside [0, 1]")
        sums = row_sums(pmf)
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
