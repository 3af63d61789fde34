"""A data directory written by the previous schema version opens in this one."""
from __future__ import annotations

import json
import sqlite3

import pytest
import sqlite_utils

from artwork.errors import SchemaError
from artwork.journal import JOURNAL_DIR
from artwork.records import LoggedDecision
from artwork.schema import LATEST, migrate
from artwork.store import DB_NAME, Store
from artwork.reward_mapping import RewardMapping


def _write_v1(data_dir, image: bytes) -> None:
    """A store as version 1 of the program left it: its schema, its rows, its files."""
    data_dir.mkdir(parents=True)
    db = sqlite_utils.Database(sqlite3.connect(data_dir / DB_NAME, isolation_level=None))
    assert migrate(db, target=1) == 1
    db["titles"].insert({"id": "old", "name": "Old Title", "genres": '["drama"]', "created": 1.0})
    (data_dir / "images" / "ab").mkdir(parents=True)
    (data_dir / "images" / "ab" / "ab12.jpg").write_bytes(image)
    db["artworks"].insert({
        "id": "ab12", "title_id": "old", "path": "images/ab/ab12.jpg", "source": "upload",
        "frame_time": None, "width": 96, "height": 64, "quality": '{"sharpness": 0.5}',
        "tags": '["dark"]', "embedding": None, "status": "live", "is_default": 1, "created": 2.0,
    })
    db["decisions"].insert({
        "event_id": "e-old", "timestamp": 10.0, "user_id": "u", "title_id": "old",
        "context": "{}", "candidates": '["ab12"]', "pmf": "[1.0]", "action": "ab12",
        "probability": 1.0, "policy": "uniform", "model_version": 0,
    })
    db["rewards"].insert({"event_id": "e-old", "kind": "play", "timestamp": 11.0, "value": None})
    db.conn.close()


def test_previous_version_opens_and_keeps_everything(data_dir, jpeg_bytes):
    _write_v1(data_dir, jpeg_bytes(1))
    store = Store.open(data_dir)
    assert store.db.version() == LATEST
    art = store.get_artwork("ab12")
    assert (art.status, art.is_default, art.shot, art.frame_index) == ("live", True, None, None)
    assert art.quality == {"sharpness": 0.5} and art.tags == ("dark",)
    assert store.get_title("old").genres == ("drama",)
    assert store.get_decision("e-old").action == "ab12"
    assert store.get_decision("e-old").action_keys == ()
    pairs = store.learning_pairs(60, RewardMapping(), now=1000)
    assert [(p.decision.event_id, dict(p.kinds)) for p in pairs] == [("e-old", {"play": None})]
    # plays logged before version 3 still shape the user's genre affinity
    assert store.genre_affinity("u") == {"drama": 1.0}
    indexes = {r[0] for r in store.db.read(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'decisions'")}
    assert "idx_decisions_user_id" not in indexes and "idx_decisions_timestamp_event_id" in indexes
    # the new columns work on the upgraded file
    new = store.add_artwork_image("old", jpeg_bytes(2), source="video", shot=3, frame_index=7)
    assert store.get_artwork(new.id).shot == 3
    backup = data_dir / f"{DB_NAME}.pre-migration.bak"
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


def _write_v3(data_dir) -> None:
    """A store as version 3 left it: a decision in the table, one in an exited writer's journal."""
    data_dir.mkdir(parents=True)
    db = sqlite_utils.Database(sqlite3.connect(data_dir / DB_NAME, isolation_level=None))
    assert migrate(db, target=3) == 3
    db["decisions"].insert({
        "event_id": "in-table", "timestamp": 10.0, "user_id": "u", "title_id": "t",
        "context": "{}", "candidates": '["a","b"]', "pmf": "[0.5,0.5]", "action": "b",
        "probability": 0.5, "policy": "uniform", "model_version": 0,
    })
    db.conn.close()
    # Version 3 journaled decisions as lines of 11 columns, without action keys.
    line = ["in-journal", 11.0, "u", "t", '{"features":{}}', '["a","b"]', "[0.25,0.75]", "a",
            0.25, "vw", 2]
    (data_dir / JOURNAL_DIR).mkdir()
    (data_dir / JOURNAL_DIR / "4242-0badc0de.jsonl").write_text(json.dumps(line) + "\n")


def test_version_3_decisions_read_back_without_action_keys(data_dir):
    _write_v3(data_dir)
    store = Store.open(data_dir)
    assert store.db.version() == LATEST
    old = {d.event_id: d for d in store.decisions()}  # ingests the old journal line too
    assert set(old) == {"in-table", "in-journal"}
    assert old["in-journal"].pmf == (0.25, 0.75) and old["in-journal"].model_version == 2
    assert all(d.action_keys == () for d in old.values())
    assert not (data_dir / JOURNAL_DIR / "4242-0badc0de.jsonl").exists()  # ingested, removed
    # New decisions log their action keys beside the old ones.
    new = LoggedDecision(
        "new", 12.0, "u", "t", {}, ("a", "b"), (0.5, 0.5), "a", 0.5, "vw", 3, ("ka", "kb"))
    store.journal_decisions([new])
    assert store.get_decision("new") == new
    assert [d.action_keys for d in store.decisions()] == [(), (), ("ka", "kb")]


def test_newer_schema_is_refused(data_dir):
    data_dir.mkdir(parents=True)
    with sqlite3.connect(data_dir / DB_NAME) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 5}")
    with pytest.raises(SchemaError, match="newer than this program"):
        Store.open(data_dir)


# -- PostgreSQL: the same versions, the same tables ----------------------------------------

_KINDS = {"text": "text", "real": "real", "float": "real", "integer": "integer", "blob": "blob",
          "double precision": "real", "bigint": "integer", "bytea": "blob"}
_SQLITE_OWN = ("sqlite_", "artbandit_schema")


def _sqlite_shape(conn: sqlite3.Connection) -> dict:
    """Each table's columns (kind, whether they may be null) and the named indexes."""
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
              if not r[0].startswith(_SQLITE_OWN)]
    shape = {t: {r[1]: (_KINDS[r[2].lower()], bool(r[3] or r[5]))
                 for r in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
               if not r[0].startswith("sqlite_autoindex")}
    return {"tables": shape, "indexes": indexes}


def _postgres_shape(conn) -> dict:
    rows = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name <> 'artbandit_schema'").fetchall()
    shape: dict = {}
    for table, column, kind, nullable in rows:
        if (table, column) != ("plays", "seq"):  # SQLite's rowid, named
            shape.setdefault(table, {})[column] = (_KINDS[kind], nullable == "NO")
    indexes = {r[0] for r in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
        if not r[0].endswith(("_pkey", "_key"))}
    return {"tables": shape, "indexes": indexes}


def test_both_backends_have_the_same_tables_at_every_version(tmp_path, postgres_url):
    """Each version of the PostgreSQL schema holds what the same version of SQLite's does."""
    import psycopg

    from artwork import postgres_schema

    assert postgres_schema.LATEST == LATEST
    lite = sqlite_utils.Database(sqlite3.connect(tmp_path / "shape.db", isolation_level=None))
    with psycopg.connect(postgres_url, autocommit=True) as pg:
        for version in range(1, LATEST + 1):
            assert migrate(lite, target=version) == version
            assert postgres_schema.migrate(pg, target=version) == version
            assert _postgres_shape(pg) == _sqlite_shape(lite.conn), f"version {version}"


def test_previous_version_opens_on_postgres_and_keeps_everything(data_dir, postgres_url):
    import psycopg

    from artwork import postgres_schema

    with psycopg.connect(postgres_url, autocommit=True) as pg:
        assert postgres_schema.migrate(pg, target=1) == 1
        pg.execute("INSERT INTO titles VALUES ('old', 'Old Title', '[\"drama\"]', 1.0)")
        pg.execute("INSERT INTO decisions VALUES ('e-old', 10.0, 'u', 'old', '{}', '[\"x\"]', "
                   "'[1.0]', 'x', 1.0, 'uniform', 0)")
        pg.execute("INSERT INTO rewards VALUES ('e-old', 'play', 11.0, NULL)")
    store = Store.open(data_dir, database_url=postgres_url)
    assert store.db.version() == LATEST
    assert store.get_title("old").genres == ("drama",)
    assert store.get_decision("e-old").action_keys == ()
    pairs = store.learning_pairs(60, RewardMapping(), now=1000)
    assert [(p.decision.event_id, dict(p.kinds)) for p in pairs] == [("e-old", {"play": None})]
    assert store.genre_affinity("u") == {"drama": 1.0}  # the plays of version 1, carried over
    assert store.players_since(0) == [(1, "u")]
    store.close_all()


def test_newer_schema_is_refused_on_postgres(data_dir, postgres_url):
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as pg:
        pg.execute("CREATE TABLE artbandit_schema (version INTEGER NOT NULL)")
        pg.execute("INSERT INTO artbandit_schema VALUES (%s)", [LATEST + 5])
    with pytest.raises(SchemaError, match="newer than this program"):
        Store.open(data_dir, database_url=postgres_url)
