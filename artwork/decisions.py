"""The decision log: decisions journaled on the serving path, ingested into the table, read back.

Serving appends each decision to its process's journal (artwork/journal.py), checked first;
ingest moves journal lines into the decisions table in batches, one transaction each with
the file offset reached, so each line goes in exactly once whoever ingests. Every reader
catches up with the journals first, so no reader misses a decision that was journaled.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import threading
import weakref
from pathlib import Path
from typing import Any, Iterator, Sequence

import orjson

from artwork.codecs import (
    DECISION_COLUMNS,
    V3_LINE_WIDTH,
    V4_LINE_WIDTH,
    columns_sql,
    compact_json,
    decision_from_row,
    decision_row,
)
from artwork.dead_letter import DEAD_LETTER_DIR, DEAD_LETTER_FILE, DeadLetterFile
from artwork.database import Database, Transaction, running_thread
from artwork.errors import InvalidRecordError, NotFoundError
from artwork.join import decision_pages
from artwork.journal import (
    READ_CHUNK,
    JournalWriter,
    host_scope,
    journal_sizes,
    read_lines,
    writer_gone,
)
from artwork.records import PMF_TOLERANCE, LoggedDecision

log = logging.getLogger(__name__)

# A process that journals decisions ingests the journals this often, or sooner once it has
# appended JOURNAL_INGEST_RECORDS of them.
JOURNAL_INGEST_SECONDS = 0.25
JOURNAL_INGEST_RECORDS = 256
# Columns a journal line may not leave null (the decisions table's NOT NULL ones).
_REQUIRED = tuple(DECISION_COLUMNS.index(c) for c in (
    "event_id", "timestamp", "user_id", "title_id", "candidates", "pmf", "action", "probability"))


def check_decision(d: LoggedDecision) -> None:
    """Refuse a decision whose candidates, pmf, probability or action keys disagree."""
    n = len(d.candidates)
    problem = None
    if n == 0:
        problem = "has no candidates"
    elif len(set(d.candidates)) != n:
        problem = "names a candidate twice"
    elif len(d.pmf) != n:
        problem = f"has {len(d.pmf)} probabilities for {n} candidates"
    elif any(not (0.0 <= p <= 1.0) for p in d.pmf):
        problem = "has a probability outside [0, 1]"
    elif abs(math.fsum(d.pmf) - 1.0) > PMF_TOLERANCE:
        problem = f"has a pmf summing to {math.fsum(d.pmf):.9f}, not 1"
    elif d.action not in d.candidates:
        problem = f"chose {d.action!r}, which is not among its candidates"
    elif not (0.0 < d.probability <= 1.0):
        problem = f"has probability {d.probability!r}; it must be in (0, 1]"
    elif abs(d.pmf[d.candidates.index(d.action)] - d.probability) > PMF_TOLERANCE:
        problem = "has a probability that differs from the pmf of its chosen action"
    elif d.action_keys and len(d.action_keys) != n:
        problem = f"has {len(d.action_keys)} action keys for {n} candidates"
    else:
        problem = _shadow_problem(d.shadow, n)
    if problem:
        raise InvalidRecordError(f"decision {d.event_id!r} {problem}; it was not logged")


_NUMBER_TYPES = {int, float}


def _shadow_problem(shadow: Any, n: int) -> str | None:
    """What is wrong with a decision's shadow pmfs (None: nothing)."""
    if not isinstance(shadow, dict):
        return "has shadow pmfs that are not a mapping of policy names to pmfs"
    for name, pmf in shadow.items():
        if not isinstance(name, str) or not isinstance(pmf, (list, tuple)) or len(pmf) != n:
            return f"has a shadow pmf for {name!r} that is not {n} probabilities"
        if not set(map(type, pmf)) <= _NUMBER_TYPES or not 0.0 <= min(pmf) <= max(pmf) <= 1.0:
            return f"has a shadow pmf for {name!r} with a value that is not a probability"
        if abs(math.fsum(pmf) - 1.0) > PMF_TOLERANCE:
            return f"has a shadow pmf for {name!r} summing to {math.fsum(pmf):.9f}, not 1"
    return None


# What each column of a journal line may hold (bool is never a number here).
_STR, _NUM, _INT = (str,), (int, float), (int,)
_COLUMN_KINDS = dict(zip(DECISION_COLUMNS, (
    _STR, _NUM, _STR, _STR, _STR, _STR, _STR, _STR, _NUM, _STR, _INT, _STR, _STR)))
# Every sequence of column types a valid line may have: one set lookup checks a line, and only
# a line that fails it is looked at column by column (to say what is wrong).
_ROW_TYPES = frozenset(itertools.product(*(
    kinds if i in _REQUIRED else (*kinds, type(None))
    for i, kinds in enumerate(_COLUMN_KINDS.values()))))


def _json_list(text: str, kinds: tuple[type, ...], name: str) -> tuple:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValueError(f"`{name}` is not JSON") from None
    if not isinstance(value, list) or not set(map(type, value)).issubset(kinds):
        raise ValueError(f"`{name}` is not a list of {' or '.join(k.__name__ for k in kinds)}")
    return tuple(value)


def _refuse_column_types(row: list[Any]) -> None:
    """Raise ValueError naming the first column of `row` whose type is wrong."""
    for i, (name, kinds) in enumerate(_COLUMN_KINDS.items()):
        value = row[i]
        if value is None:
            if i in _REQUIRED:
                raise ValueError(f"`{name}` is null")
        elif type(value) not in kinds:
            raise ValueError(f"`{name}` is a {type(value).__name__}, not a {kinds[0].__name__}")
    raise AssertionError(f"column types {[type(v) for v in row]} missing from _ROW_TYPES")


def journal_decision(line: bytes) -> tuple[list[Any], LoggedDecision]:
    """The row and decision a journal line holds (this version's or the last); else ValueError.

    Every column is checked for its type, and the decision for what check_decision refuses
    (probabilities, pmf, chosen action), so nothing invalid reaches the decisions table.
    """
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise ValueError("not a JSON line") from None
    if not isinstance(row, list) or len(row) not in (V3_LINE_WIDTH, V4_LINE_WIDTH,
                                                      len(DECISION_COLUMNS)):
        raise ValueError(f"not a list of {len(DECISION_COLUMNS)} values")
    # Written before action keys, or before shadow pmfs, were logged.
    row.extend([None] * (len(DECISION_COLUMNS) - len(row)))
    if tuple(map(type, row)) not in _ROW_TYPES:
        _refuse_column_types(row)
    if not row[0] or not math.isfinite(row[1]):
        raise ValueError("`event_id` is empty" if not row[0] else "`timestamp` is not finite")
    try:
        context = orjson.loads(row[4]) if row[4] is not None else {}
    except orjson.JSONDecodeError:
        context = None
    if not isinstance(context, dict):
        raise ValueError("`context` is not a JSON object")
    keys = _json_list(row[11], _STR, "action_keys") if row[11] is not None else ()
    try:
        shadow = orjson.loads(row[12]) if row[12] is not None else {}
    except orjson.JSONDecodeError:
        raise ValueError("`shadow` is not JSON") from None
    decision = LoggedDecision(
        row[0], row[1], row[2], row[3], context, _json_list(row[5], _STR, "candidates"),
        _json_list(row[6], _NUM, "pmf"), row[7], row[8], row[9], row[10], keys, shadow)
    try:
        check_decision(decision)
    except InvalidRecordError as exc:
        raise ValueError(str(exc).removesuffix("; it was not logged")) from None
    return row, decision


def _remove_file(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class DecisionLog:
    """Decisions: journaled by serving processes, ingested into the table, read in time order."""

    def __init__(self, db: Database, journal_dir: Path) -> None:
        self._db = db
        self.journal_dir = journal_dir
        self.journal = JournalWriter(journal_dir)  # this process's file
        self.dead_letters = DeadLetterFile(journal_dir.parent / DEAD_LETTER_DIR / DEAD_LETTER_FILE)
        # Bytes of each journal file known to be in the table (this process's view).
        self._ingested: dict[str, int] = {}
        # On a database other hosts share, this host's files are named in the journal table
        # under a prefix of its own: an ingest takes no other host's offsets for stale ones.
        self._scope = host_scope(journal_dir) if db.SHARED else ""
        self.ingester = Ingester(self)
        weakref.finalize(self, self.ingester.stop)

    def journal_decisions(self, decisions: Sequence[LoggedDecision]) -> None:
        """Log decisions by appending them to this process's journal (the serving path).

        Each is checked first (none is appended if one is refused), and logged once this
        returns (see artwork/journal.py for how durable that is), at a fraction of a commit's
        cost. Every method that reads decisions ingests the journals first, and a background
        thread ingests them every JOURNAL_INGEST_SECONDS, so readers never miss one. Event
        ids are not checked for uniqueness here: ingest keeps the first decision of an id
        (and warns); `new_event_id` makes ids that do not collide.
        """
        for d in decisions:
            check_decision(d)
        data = "".join([compact_json(decision_row(d)) + "\n" for d in decisions])
        self.journal.append(data.encode())
        self.ingester.appended(len(decisions))

    def ingest_journal(self) -> int:
        """Move journaled decisions into the decisions table; returns how many were added.

        Each batch is one transaction that also records the offset reached, so a line is
        ingested exactly once whoever ingests and whenever a process stops. Files whose
        writer has exited are removed once all their lines are in.
        """
        added, more = 0, True
        while more:
            more, batch = False, 0
            with self._db.transaction() as tx:
                # Files are listed, read and removed only under the write lock.
                sizes = journal_sizes(self.journal_dir)
                done = self._offsets(tx.read("SELECT name, ingested FROM journal"))
                for name, size in sizes.items():
                    start = done.get(name, 0)
                    if size <= start:
                        continue
                    try:
                        lines, end = read_lines(self.journal_dir / name, start, READ_CHUNK)
                    except FileNotFoundError:  # removed by hand, or by an older ingester
                        continue
                    if not lines:
                        continue
                    batch += self._ingest_lines(tx, name, lines)
                    tx.execute(
                        "INSERT INTO journal (name, ingested) VALUES (?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET ingested = excluded.ingested",
                        [self._scope + name, end],
                    )
                    done[name] = end
                    more = more or end - start >= READ_CHUNK
                if not more:
                    self._remove_finished_journals(tx, sizes, done)
            self._ingested = {n: done.get(n, 0) for n in sizes}
            added += batch
        return added

    def _ingest_lines(self, tx: Transaction, name: str, lines: list[bytes]) -> int:
        refused: list[tuple[bytes, str]] = []
        valid = 0

        def rows() -> Iterator[list[Any]]:
            # Checked as the database takes them: a backend that streams rows (PostgreSQL's
            # COPY) stores one while the next is checked.
            nonlocal valid
            for line in lines:
                try:
                    row = journal_decision(line)[0]
                except ValueError as exc:  # kept out so that the rest goes in
                    refused.append((line, str(exc)))
                    continue
                valid += 1
                yield row

        new = tx.insert_new("decisions", DECISION_COLUMNS, rows())
        if refused:
            # Written before the offset is committed: a failed commit writes them again,
            # a failed write leaves the whole batch for the next pass.
            self.dead_letters.append(name, refused)
            log.warning("%d line(s) of the decision journal %s refused and written to %s; "
                        "the first: %s", len(refused), name, self.dead_letters.path, refused[0][1])
        if new < valid:
            log.warning("%d journaled decision(s) in %s repeat a logged event id; the first "
                        "was kept", valid - new, name)
        return new

    def _remove_finished_journals(self, tx: Transaction, sizes: dict[str, int],
                                  done: dict[str, int]) -> None:
        """Remove the files of exited writers once every complete line is ingested."""
        own = self.journal.path.name if self.journal.path is not None else None
        for name in sizes:
            path = self.journal_dir / name
            if name == own or not writer_gone(path):
                continue
            start = done.get(name, 0)
            # Its size now, not as listed: its writer may have appended since, then exited.
            size = _file_size(path)
            if start < size:
                with contextlib.suppress(FileNotFoundError):
                    if read_lines(path, start, READ_CHUNK)[0]:
                        continue  # appended just before its writer exited: the next pass takes it
                # What a writer that died mid-append leaves: never a complete line.
                log.warning("dropping %d bytes of an incomplete record at the end of %s",
                            size - start, path)
            # Removed only once the rows and this deletion are committed: a crash in between
            # leaves the file, whose lines the next pass finds already in (and skips).
            tx.after_commit(lambda path=path: _remove_file(path))
            tx.execute("DELETE FROM journal WHERE name = ?", [self._scope + name])
            done.pop(name, None)
        stale = sorted(self._scope + n for n in set(done) - set(sizes))
        if stale:
            tx.execute(f"DELETE FROM journal WHERE name IN ({','.join('?' * len(stale))})", stale)

    def ingested_offsets(self, tx: Transaction) -> dict[str, int]:
        """This host's journal files, each with how many of its bytes are in the decisions table."""
        return self._offsets(tx.read("SELECT name, ingested FROM journal"))

    def _offsets(self, rows: list[tuple]) -> dict[str, int]:
        """The journal table's rows of this host's files: file name -> bytes ingested."""
        scope = self._scope
        return {name[len(scope):]: ingested for name, ingested in rows if name.startswith(scope)}

    def dead_letter_count(self) -> int:
        """How many journal lines ingest has refused (in the dead-letter file, all processes)."""
        return self.dead_letters.count()

    def journal_backlog(self) -> int:
        """Bytes of decision journal not yet ingested into the decision log (all processes)."""
        sizes = journal_sizes(self.journal_dir)
        if not sizes:
            return 0
        done = self._offsets(self._db.read("SELECT name, ingested FROM journal"))
        return sum(max(size - done.get(name, 0), 0) for name, size in sizes.items())

    def catch_up(self) -> None:
        """Ingest the journals when they hold anything not yet ingested (a stat per file)."""
        ingested = self._ingested
        for name, size in journal_sizes(self.journal_dir).items():
            if size != ingested.get(name):
                self.ingest_journal()
                return

    def retire(self) -> None:
        """At shutdown: stop the ingest thread, ingest this process's journal, remove its file."""
        self.ingester.stop()
        path = self.journal.path
        if path is None or not self.journal.size():
            self.journal.close()
            return
        self.journal.close()  # a closed file is an exited writer's: ingested, then removed
        try:
            self.ingest_journal()
        except (*self._db.errors, OSError) as exc:  # left for the next reader to ingest
            log.warning("could not ingest the decision journal %s at shutdown: %s", path, exc)

    def get_decision(self, event_id: str) -> LoggedDecision:
        """The logged decision with this event id; raises NotFoundError."""
        sql = f"SELECT {columns_sql(DECISION_COLUMNS)} FROM decisions WHERE event_id = ?"
        row = self._db.query_one(sql, [event_id])
        if row is None:
            self.catch_up()
            row = self._db.query_one(sql, [event_id])
        if row is None:
            raise NotFoundError(f"no decision with event id {event_id!r}", kind="decision")
        return decision_from_row(row)

    def latest_for_user(self, user_id: str, title_ids: Sequence[str],
                        since: float) -> dict[str, LoggedDecision]:
        """The user's latest ingested decision for each of these titles made at or after `since`.

        The journals are not ingested first (this is on the serving path): a decision
        another process made appears once ingested, within JOURNAL_INGEST_SECONDS.
        """
        wanted = set(title_ids)
        sql = (f"SELECT {columns_sql(DECISION_COLUMNS)} FROM decisions "
               "WHERE user_id = ? AND timestamp >= ? ORDER BY timestamp")
        latest = {}
        for row in self._db.read(sql, [user_id, since]):
            if row[3] in wanted:  # title_id; later rows replace earlier ones
                latest[row[3]] = row
        return {title: decision_from_row(row) for title, row in latest.items()}

    def decisions(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[LoggedDecision]:
        """Logged decisions in time order, read page by page."""
        self.catch_up()
        for row, _ in decision_pages(self._db, since, until):
            yield decision_from_row(row)

    def first_time_after(self, after: tuple[float, str] | None, until: float) -> float | None:
        """Time of the first decision in the table after `after` (time, event id), up to `until`."""
        if after is None:
            row = self._db.query_one("SELECT min(timestamp) FROM decisions WHERE timestamp <= ?",
                                     [until])
        else:
            row = self._db.query_one(
                "SELECT min(timestamp) FROM decisions WHERE timestamp <= ? AND "
                "(timestamp > ? OR (timestamp = ? AND event_id > ?))",
                [until, after[0], after[0], after[1]])
        return None if row is None else row[0]

    def count_decisions(self, until: float | None = None) -> int:
        """How many decisions are logged (with `until`: logged at or before that time)."""
        self.catch_up()
        if until is None:
            return self._db.query_one("SELECT count(*) FROM decisions")[0]
        return self._db.query_one("SELECT count(*) FROM decisions WHERE timestamp <= ?", [until])[0]


class Ingester:
    """Ingests the decision journals on a thread of its own while this process appends.

    The thread starts with the first append (a forked worker starts its own), wakes every
    JOURNAL_INGEST_SECONDS, or at once after JOURNAL_INGEST_RECORDS appends, and ingests
    when anything was appended since its last pass. Serving processes that have a watcher
    beside them (`artbandit serve`'s ingest worker calls `watch`) start none
    (`leave_to_watcher`): an ingest pass holds the GIL for milliseconds, which requests in the
    same process would wait for.
    """

    def __init__(self, decisions: DecisionLog) -> None:
        self._decisions = weakref.ref(decisions)
        self._pending = 0
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._failing: str | None = None  # why the last pass failed, while passes fail
        self._elsewhere = False  # another process ingests (leave_to_watcher)
        self._watching = False  # this thread ingests every process's appends (watch)

    def appended(self, records: int) -> None:
        """Count appended records; start the thread if this process has none."""
        if self._elsewhere:
            return
        self._pending += records
        thread = self._thread
        if thread is None or not thread.is_alive():
            with self._lock:
                if not self._stopped:
                    self._thread = running_thread(self._thread, self._run, "journal-ingest")
        if self._pending >= JOURNAL_INGEST_RECORDS:
            self._wake.set()

    def leave_to_watcher(self) -> None:
        """Start no thread here: another process watches the journals (see `watch`)."""
        self._elsewhere = True

    def watch(self) -> None:
        """Ingest every journal of the folder as it grows, whichever process appends to it."""
        self._watching = True
        with self._lock:
            if not self._stopped:
                self._thread = running_thread(self._thread, self._run, "journal-ingest")

    def stop(self) -> None:
        """End the thread, letting a pass under way finish."""
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            self._wake.wait(JOURNAL_INGEST_SECONDS)
            self._wake.clear()
            if self._stopped:
                return
            if not self._pending and not self._watching:
                continue
            self._pending = 0
            decisions = self._decisions()
            if decisions is None:
                return
            try:
                if self._watching:
                    decisions.catch_up()  # a stat per journal file; ingests what grew
                else:
                    decisions.ingest_journal()
                if self._failing is not None:
                    log.warning("ingesting the decision journals works again")
                    self._failing = None
            except (*decisions._db.errors, OSError) as exc:  # retried on the next pass
                if str(exc) != self._failing:  # said once, not four times a second
                    log.warning("ingesting the decision journals in %s failed (retried until it "
                                "works): %s", decisions.journal_dir, exc)
                self._failing = str(exc)
                self._pending += 1
            del decisions
