"""Several hosts on one PostgreSQL database: each ships its own journal exactly once, even after
kill -9, and a new host has the catalog and its images from the database alone."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import pytest

from artwork.errors import AlreadyExistsError
from artwork.journal import HOST_ID_FILE, JOURNAL_DIR, journal_sizes
from artwork.records import LoggedDecision
from artwork.store import Store

from .conftest import run_together

PER_HOST = 500


def _decision(event_id: str, ts: float) -> LoggedDecision:
    return LoggedDecision(event_id, ts, "u1", "t1", {"features": {"device": "tv"}},
                          ("a", "b"), (0.25, 0.75), "b", 0.75, "vw", 2)


def _host(root: str, database_url: str, name: str, start) -> None:
    """One host: its own data directory, journaling and shipping while the others do."""
    store = Store.open(Path(root) / name, database_url=database_url)
    start.wait(10)
    for i in range(PER_HOST):
        store.journal_decisions([_decision(f"{name}-{i}", float(i))])
        if i % 41 == 0:
            store.ingest_journal()
    store.close_all()


def test_hosts_ship_their_own_journals_into_one_database(tmp_path, postgres_url, caplog):
    Store.open(tmp_path / "setup", database_url=postgres_url).close_all()
    run_together(_host, ["A", "B", "C"], tmp_path, postgres_url)
    store = Store.open(tmp_path / "A", database_url=postgres_url)
    ids = [d.event_id for d in store.decisions()]
    assert len(ids) == len(set(ids)) == 3 * PER_HOST
    scopes = {(tmp_path / n / JOURNAL_DIR / HOST_ID_FILE).read_text() for n in "ABC"}
    assert len(scopes) == 3  # each host names its files under an id of its own
    assert all(journal_sizes(tmp_path / n / JOURNAL_DIR) == {} for n in "ABC")
    assert "repeat a logged event id" not in caplog.text  # no host re-shipped another's lines
    store.close_all()


def test_one_hosts_ingest_keeps_another_hosts_offsets(tmp_path, postgres_url):
    a = Store.open(tmp_path / "A", database_url=postgres_url)
    b = Store.open(tmp_path / "B", database_url=postgres_url)
    for s in (a, b):
        s.decision_log.ingester.stop()  # shipped by hand below
    b.journal_decisions([_decision("b1", 1.0)])
    assert b.ingest_journal() == 1
    a.journal_decisions([_decision("a1", 2.0)])
    assert a.ingest_journal() == 1  # must not take B's offset row for a stale one of its own
    assert b.journal_backlog() == 0
    assert b.ingest_journal() == 0
    assert a.count_decisions() == 2
    a.close_all()
    b.close_all()


def _journal_until_killed(data_dir: str, database_url: str, ready) -> None:
    store = Store.open(Path(data_dir), database_url=database_url)
    i = 0
    while True:  # the background thread ships as this appends
        store.journal_decisions([_decision(f"k{i}-{j}", float(i)) for j in range(10)])
        i += 1
        if i == 50:
            ready.set()


def test_a_host_killed_while_shipping_loses_and_repeats_nothing(tmp_path, postgres_url):
    data_dir = tmp_path / "host"
    Store.open(data_dir, database_url=postgres_url).close_all()
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_journal_until_killed, args=(str(data_dir), postgres_url, ready))
    proc.start()
    assert ready.wait(60)
    time.sleep(0.5)  # several shipping passes under way
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    journaled = set()
    for name in journal_sizes(data_dir / JOURNAL_DIR):
        for line in (data_dir / JOURNAL_DIR / name).read_bytes().splitlines(keepends=True):
            if line.endswith(b"\n"):  # a complete record
                journaled.add(line.split(b'"')[1].decode())
    assert len(journaled) >= 500
    # The host comes back: what the killed process had not shipped is shipped now, once.
    store = Store.open(data_dir, database_url=postgres_url)
    ids = [d.event_id for d in store.decisions()]
    assert len(ids) == len(set(ids)) and set(ids) == journaled
    assert journal_sizes(data_dir / JOURNAL_DIR) == {}
    store.close_all()


def test_a_new_host_with_only_the_url_has_the_catalog_and_its_images(tmp_path, postgres_url,
                                                                      jpeg_bytes):
    first = Store.open(tmp_path / "first", database_url=postgres_url)
    first.add_title("t1", "One", ["drama"])
    data = jpeg_bytes(3)
    art = first.add_artwork_image("t1", data, status="live")
    new = Store.open(tmp_path / "new", database_url=postgres_url)  # an empty data directory
    assert new.list_artworks("t1", "live") == [art]
    path = new.image_path(art)
    assert path.read_bytes() == data and path.is_relative_to(tmp_path / "new")  # cached here
    # A failed batch leaves no image behind in the database either.
    with pytest.raises(AlreadyExistsError, match="already artwork"):
        new.add_artworks([{"title_id": "t1", "data": jpeg_bytes(4)}, {"title_id": "t1", "data": data}])
    assert new.db.query_one("SELECT count(*) FROM images")[0] == 1
    first.delete_artwork(art.id)
    assert new.db.query_one("SELECT count(*) FROM images")[0] == 0
    for s in (first, new):
        s.close_all()
