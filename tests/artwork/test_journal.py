"""Journaled decisions: visible to every reader, ingested exactly once, never half-written."""
from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import pytest

from artwork import decisions as decisions_mod
from artwork import journal as journal_mod
from artwork.errors import JournalError, NotFoundError
from artwork.journal import JOURNAL_DIR, JournalWriter, journal_sizes
from artwork.records import LoggedDecision, Reward
from artwork.store import Store
from tests.conftest import count_rows

from .conftest import run_together

PER_WRITER = 300


def _decision(event_id: str, ts: float = 1.0, title: str = "t1") -> LoggedDecision:
    return LoggedDecision(event_id, ts, "u1", title, {"features": {"device": "tv"}},
                          ("a", "b"), (0.25, 0.75), "b", 0.75, "vw", 2)


def _journal_dir(data_dir: Path) -> Path:
    return data_dir / JOURNAL_DIR


def test_every_reader_sees_a_journaled_decision_at_once(store, data_dir, open_store):
    store.add_title("t1", "One")
    store.journal_decisions([_decision("e1", 5.0), _decision("e2", 6.0)])
    assert journal_sizes(_journal_dir(data_dir))  # not yet in the table
    other = open_store(data_dir)  # another handle, as another process would have
    assert other.get_decision("e2").pmf == (0.25, 0.75)
    assert other.count_decisions() == 2
    assert [d.event_id for d in other.decisions()] == ["e1", "e2"]
    assert [p.decision.event_id for p in other.learning_pairs(0.0, lambda k: 0.0, now=100.0)] == [
        "e1", "e2"]
    assert other.artwork_stats("t1")[0]["decisions"] == 2


def test_feedback_right_after_a_journaled_decision_is_accepted(store, data_dir, open_store):
    store.add_title("t1", "One")
    store.journal_decisions([_decision("e1")])
    other = open_store(data_dir)
    assert other.add_rewards([Reward("e1", 2.0, "click")]) == [True]
    with pytest.raises(NotFoundError, match="no decision with event id 'nope'"):
        other.add_rewards([Reward("nope", 2.0, "click")])
    with pytest.raises(NotFoundError):
        other.get_decision("nope")


def test_a_bad_decision_is_refused_before_anything_is_appended(store, data_dir):
    bad = LoggedDecision("e9", 1.0, "u1", "t1", {}, ("a", "b"), (0.5, 0.6), "b", 0.6, "vw", 0)
    with pytest.raises(ValueError, match="pmf summing to 1.1"):
        store.journal_decisions([_decision("e1"), bad])
    assert not journal_sizes(_journal_dir(data_dir))
    assert store.count_decisions() == 0


def test_ingesting_twice_adds_nothing_and_closing_removes_the_file(store, data_dir, open_store):
    store.decision_log.ingester.stop()  # ingested by hand below
    store.journal_decisions([_decision(f"e{i}", float(i)) for i in range(10)])
    assert store.journal_backlog() == store.decision_log.journal.size() > 0
    assert store.ingest_journal() == 10
    assert store.journal_backlog() == 0
    assert store.ingest_journal() == 0
    assert store.count_decisions() == 10
    assert len(journal_sizes(_journal_dir(data_dir))) == 1  # its writer is still open
    store.close_all()
    assert journal_sizes(_journal_dir(data_dir)) == {}
    reopened = open_store(data_dir)
    assert reopened.count_decisions() == 10
    assert count_rows(reopened, "journal") == 0


@pytest.mark.parametrize("line, reason", [
    (b'["too", "short"]', "not a list of 13 values"),
    (b'{"not": "a row"}', "not a list of 13 values"),
    (b"not json at all", "not a JSON line"),
    ([None, 1.0, "u1", "t1", "{}", '["a"]', "[1.0]", "a", 1.0, "vw", 0, None], "`event_id` is null"),
    (["x", 1.0, None, "t1", "{}", '["a"]', "[1.0]", "a", 1.0, "vw", 0, None], "`user_id` is null"),
    (["x", 1.0, "u1", "t1", {"a": 1}, '["a"]', "[1.0]", "a", 1.0, "vw", 0, None], "`context` is a dict"),
    (["x", 1.0, "u1", "t1", "{}", '["a"]', "[1.0]", "a", "1.0", "vw", 0, None],
     "`probability` is a str"),
    (["x", 1.0, "u1", "t1", "{}", '["a"]', "[1.0]", "a", True, "vw", 0, None],
     "`probability` is a bool"),
    (["x", 1.0, "u1", "t1", "{}", '["a", "b"]', "[0.5, 0.6]", "a", 0.5, "vw", 0, None],
     "pmf summing to 1.1"),
    (["x", 1.0, "u1", "t1", "{}", '["a"]', '["1.0"]', "a", 1.0, "vw", 0, None],
     "`pmf` is not a list of int or float"),
    (["x", 1.0, "u1", "t1", "[1]", '["a"]', "[1.0]", "a", 1.0, "vw", 0, None],
     "`context` is not a JSON object"),
    (["x", 1.0, "u1", "t1", "{}", '["a"]', "[1.0]", "a", 1.0, "vw", 0, None, "{"],
     "`shadow` is not JSON"),
    (["x", 1.0, "u1", "t1", "{}", '["a", "b"]', "[0.5, 0.5]", "a", 0.5, "vw", 0, None,
      '{"c": [0.5, 0.6]}'], "shadow pmf for 'c' summing to 1.1"),
    (["x", 1.0, "u1", "t1", "{}", '["a", "b"]', "[0.5, 0.5]", "a", 0.5, "vw", 0, None,
      '{"c": [1.0]}'], "shadow pmf for 'c' that is not 2 probabilities"),
    (["x", 1.0, "u1", "t1", "{}", '["a"]', "[1.0]", "b", 1.0, "vw", 0, None],
     "not among its candidates"),
])
def test_an_invalid_line_is_dead_lettered_and_the_rest_ingested(store, line, reason, caplog):
    store.decision_log.ingester.stop()  # ingested by hand below
    store.journal_decisions([_decision("e1")])
    with open(store.decision_log.journal.path, "ab") as f:
        f.write((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n")
    store.journal_decisions([_decision("e2")])
    assert store.ingest_journal() == 2
    assert [d.event_id for d in store.decisions()] == ["e1", "e2"]
    assert "1 line(s) of the decision journal" in caplog.text
    dead = [json.loads(x) for x in store.decision_log.dead_letters.path.read_text().splitlines()]
    assert len(dead) == 1 and reason in dead[0]["reason"], dead
    assert dead[0]["file"] == store.decision_log.journal.path.name
    assert store.decision_log.dead_letter_count() == 1
    assert store.ingest_journal() == 0 and store.decision_log.dead_letter_count() == 1


def test_a_journal_file_removed_meanwhile_does_not_stop_ingest(store, data_dir, monkeypatch):
    store.decision_log.ingester.stop()  # ingested by hand below
    store.journal_decisions([_decision("e1")])
    gone = _journal_dir(data_dir) / "1-dead.jsonl"
    gone.write_bytes(json.dumps(["x"]).encode() + b"\n")
    real_read = decisions_mod.read_lines

    def read_after_removal(path, start, limit):
        if path == gone:
            gone.unlink()  # removed by hand between the listing and the read
        return real_read(path, start, limit)

    monkeypatch.setattr(decisions_mod, "read_lines", read_after_removal)
    assert store.ingest_journal() == 1
    assert store.count_decisions() == 1


def test_a_finished_file_is_removed_only_after_the_commit(store, data_dir, open_store, monkeypatch):
    """A crash between the commit and the removal loses nothing: the file is still there."""
    store.decision_log.ingester.stop()
    store.journal_decisions([_decision("e1")])
    store.decision_log.journal.close()  # an exited writer's file
    other = open_store(data_dir)  # another reader, outside the write lock
    committed = []
    real_remove = decisions_mod._remove_file

    def remove_after_checking(path):
        # The deletion of its offset row is committed by now: another handle sees it.
        committed.append(count_rows(other, "journal"))
        real_remove(path)

    monkeypatch.setattr(decisions_mod, "_remove_file", remove_after_checking)
    assert store.ingest_journal() == 1
    assert committed == [0] and journal_sizes(_journal_dir(data_dir)) == {}


def test_a_backlog_is_ingested_in_bounded_steps(store, monkeypatch):
    monkeypatch.setattr(journal_mod, "READ_CHUNK", 512)
    monkeypatch.setattr("artwork.decisions.READ_CHUNK", 512)
    store.decision_log.ingester.stop()  # ingested by hand below
    store.journal_decisions([_decision(f"e{i:04d}", float(i)) for i in range(200)])
    assert store.ingest_journal() == 200
    assert [d.event_id for d in store.decisions()] == [f"e{i:04d}" for i in range(200)]


def test_lines_appended_just_before_a_writer_exits_are_kept(store, data_dir, open_store, monkeypatch):
    store.decision_log.ingester.stop()  # ingested by hand below
    other = open_store(data_dir)  # another process's writer
    other.decision_log.ingester.stop()
    other.journal_decisions([_decision("e1")])
    assert store.ingest_journal() == 1
    others_file = other.decision_log.journal.path
    real_writer_gone = decisions_mod.writer_gone

    def exits_meanwhile(path: Path) -> bool:
        # While an ingest runs, the other writer appends once more and exits.
        if path == others_file and other.decision_log.journal.path is not None:
            other.journal_decisions([_decision("e2", 2.0)])
            other.decision_log.journal.close()
        return real_writer_gone(path)

    monkeypatch.setattr(decisions_mod, "writer_gone", exits_meanwhile)
    store.ingest_journal()
    assert [d.event_id for d in store.decisions()] == ["e1", "e2"]
    assert journal_sizes(_journal_dir(data_dir)) == {}


def test_a_full_journal_file_is_closed_and_removed_once_ingested(store, data_dir, monkeypatch):
    monkeypatch.setattr(journal_mod, "ROTATE_BYTES", 2000)
    first = None
    for i in range(40):
        store.journal_decisions([_decision(f"e{i:03d}", float(i))])
        first = first or store.decision_log.journal.path
    assert store.decision_log.journal.path != first  # rotated
    assert store.count_decisions() == 40
    # Only the file still being written is left.
    assert list(journal_sizes(_journal_dir(data_dir))) == [store.decision_log.journal.path.name]
    assert not first.exists()


def test_the_background_thread_ingests_without_any_reader(store, data_dir, open_store):
    store.journal_decisions([_decision("e1")])
    deadline = time.monotonic() + 10
    with open_store(data_dir) as raw:
        while time.monotonic() < deadline:
            # Counting through SQL directly: the store's readers would ingest themselves.
            if count_rows(raw, "decisions") == 1:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the journal was not ingested in the background within 10 s")


def _journal_and_ingest(data_dir: str, database_url: str | None, name: str, start) -> None:
    store = Store.open(Path(data_dir), database_url=database_url)
    start.wait(10)
    for i in range(PER_WRITER):
        store.journal_decisions([_decision(f"{name}-{i}", float(i))])
        if i % 37 == 0:
            store.ingest_journal()  # both processes ingest both files at once
        if i % 50 == 0:
            store.add_rewards([Reward(f"{name}-{i}", i + 0.5, "play")])
    store.close_all()


def test_processes_journaling_and_ingesting_at_once_lose_and_repeat_nothing(data_dir, open_store,
                                                                           database_url):
    open_store(data_dir).close_all()
    run_together(_journal_and_ingest, ["A", "B", "C"], data_dir, database_url)
    store = open_store(data_dir)
    ids = [d.event_id for d in store.decisions()]
    assert len(ids) == len(set(ids)) == 3 * PER_WRITER
    assert count_rows(store, "rewards") == 3 * (PER_WRITER // 50)
    assert journal_sizes(_journal_dir(data_dir)) == {}


def _journal_then_hang(data_dir: str, database_url: str | None, ready) -> None:
    store = Store.open(Path(data_dir), database_url=database_url)
    store.journal_decisions([_decision(f"k{i}", float(i)) for i in range(25)])
    # A record cut short, as a writer killed in the middle of an append leaves it.
    path = store.decision_log.journal.path
    with open(path, "ab") as f:
        f.write(b'["k-torn", 1.0, "u1"')
    ready.set()
    time.sleep(60)


def test_a_killed_writers_lines_are_kept_and_its_torn_tail_dropped(data_dir, open_store, database_url,
                                                                  caplog):
    open_store(data_dir).close_all()
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_journal_then_hang, args=(str(data_dir), database_url, ready))
    proc.start()
    assert ready.wait(60)
    store = open_store(data_dir)
    assert store.count_decisions() == 25  # read while the writer lives: its file stays
    assert len(journal_sizes(_journal_dir(data_dir))) == 1
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    with caplog.at_level(logging.WARNING, logger="artwork.decisions"):
        assert store.ingest_journal() == 0
    assert "incomplete record" in caplog.text
    assert journal_sizes(_journal_dir(data_dir)) == {}
    assert store.count_decisions() == 25


def _fill_the_disk(folder: str, limit: int, out) -> None:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    writer = JournalWriter(Path(folder))
    line = (json.dumps(["x" * 100]) + "\n").encode()
    appended = 0
    try:
        while True:
            writer.append(line * 3)
            appended += 3
    except JournalError as exc:
        out.put((appended, str(exc), str(writer.path)))


def test_a_failed_append_leaves_no_partial_record(tmp_path):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    # The limit falls inside a record, so the last write is cut short.
    proc = ctx.Process(target=_fill_the_disk, args=(str(tmp_path), 5000, out))
    proc.start()
    appended, message, path = out.get(timeout=60)
    proc.join(10)
    assert "could not append to the decision journal" in message
    data = Path(path).read_bytes()
    assert data.endswith(b"\n") and len(data.splitlines()) == appended
    assert all(json.loads(line) == ["x" * 100] for line in data.splitlines())


def test_a_forked_child_writes_a_file_of_its_own(store, data_dir):
    store.journal_decisions([_decision("parent")])
    pid = os.fork()
    if pid == 0:  # the child: journal one decision and leave at once
        try:
            store.journal_decisions([_decision("child")])
            code = 0 if store.decision_log.journal.path.name.startswith(f"{os.getpid()}-") else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # A pass of the background ingester may have taken the child's line while the child was
    # alive (its file stays until a pass finds the writer gone): ingest once more now.
    store.ingest_journal()
    assert {d.event_id for d in store.decisions()} == {"parent", "child"}
    assert list(journal_sizes(_journal_dir(data_dir))) == [store.decision_log.journal.path.name]
