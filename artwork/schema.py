"""The SQLite backend's versioned schema: each migration takes the database one version up.

SQLite only (sqlite-utils, `PRAGMA user_version`), like artwork/database.py which runs it.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from artwork.errors import SchemaError

if TYPE_CHECKING:  # a Database is handed in; importing sqlite-utils is the caller's cost
    import sqlite_utils


def _v1(db: sqlite_utils.Database) -> None:
    db["titles"].create(
        {"id": str, "name": str, "genres": str, "created": float}, pk="id", not_null={"name"}
    )
    db["artworks"].create(
        {
            "id": str,
            "title_id": str,
            "path": str,
            "source": str,
            "frame_time": float,
            "width": int,
            "height": int,
            "quality": str,
            "tags": str,
            "embedding": bytes,
            "status": str,
            "is_default": int,
            "created": float,
        },
        pk="id",
        foreign_keys=[("title_id", "titles", "id")],
        not_null={"title_id", "path", "source", "status"},
        defaults={"status": "candidate", "is_default": 0},
    )
    db["artworks"].create_index(["title_id", "status"])
    db["decisions"].create(
        {
            "event_id": str,
            "timestamp": float,
            "user_id": str,
            "title_id": str,
            "context": str,
            "candidates": str,
            "pmf": str,
            "action": str,
            "probability": float,
            "policy": str,
            "model_version": int,
        },
        pk="event_id",
        not_null={"timestamp", "user_id", "title_id", "candidates", "pmf", "action", "probability"},
    )
    db["decisions"].create_index(["timestamp", "event_id"])
    db["rewards"].create(
        {"event_id": str, "kind": str, "timestamp": float, "value": float},
        pk=("event_id", "kind"),
        foreign_keys=[("event_id", "decisions", "event_id")],
        not_null={"timestamp"},
    )


def _v2(db: sqlite_utils.Database) -> None:
    # Version 2 records where a video candidate came from and which embedder made its
    # vector, and indexes the per-user lookups that cold-start context needs.
    artworks = db["artworks"]
    artworks.add_column("frame_index", int)
    artworks.add_column("shot", int)
    artworks.add_column("embedder", str)
    db["decisions"].create_index(["user_id"], if_not_exists=True)
    db["decisions"].create_index(["title_id", "timestamp"], if_not_exists=True)


def _v3(db: sqlite_utils.Database) -> None:
    # Version 3 records how many bytes of each decision journal file (artwork/journal.py)
    # are in the decisions table, committed with the rows themselves.
    db["journal"].create({"name": str, "ingested": int}, pk="name", not_null={"ingested"})
    # Plays get a table of their own, written with the (rarer) feedback: a user's recent
    # plays are one index probe, and the decision log, written on every request, loses
    # its per-user index.
    db["plays"].create(
        {"event_id": str, "user_id": str, "title_id": str, "timestamp": float},
        pk="event_id",
        foreign_keys=[("event_id", "decisions", "event_id")],
        not_null={"user_id", "title_id", "timestamp"},
    )
    db["plays"].create_index(["user_id", "timestamp"])
    db.execute(
        "INSERT INTO plays (event_id, user_id, title_id, timestamp) "
        "SELECT d.event_id, d.user_id, d.title_id, d.timestamp FROM rewards r "
        "JOIN decisions d ON d.event_id = r.event_id WHERE r.kind = 'play'"
    )
    db.execute("DROP INDEX IF EXISTS idx_decisions_user_id")


def _v4(db: sqlite_utils.Database) -> None:
    # Version 4 keeps the candidate actions as the policy saw them when it decided, so the
    # learner learns from those and not from today's catalog: each description once, under
    # a key its writer derives from its content, and each decision's keys beside its
    # candidates (NULL for decisions logged before).
    db["actions"].create(
        {"key": str, "artwork_id": str, "description": str},
        pk="key",
        not_null={"artwork_id", "description"},
    )
    db["decisions"].add_column("action_keys", str)


def _v5(db: sqlite_utils.Database) -> None:
    # Version 5 adds accounts (users with a role, their API tokens and studio sessions, the
    # last two stored only as digests), the failed sign-ins the rate limit counts, and the
    # audit trail of catalog changes. Plain DDL, the same for every backend.
    for sql in (
        "CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, "
        "password_hash TEXT NOT NULL, created REAL NOT NULL, disabled INTEGER NOT NULL DEFAULT 0)",
        "CREATE TABLE api_tokens (id TEXT PRIMARY KEY, user_name TEXT NOT NULL "
        "REFERENCES users (name), digest TEXT NOT NULL UNIQUE, label TEXT NOT NULL, "
        "created REAL NOT NULL, revoked REAL)",
        "CREATE TABLE sessions (digest TEXT PRIMARY KEY, user_name TEXT NOT NULL, "
        "created REAL NOT NULL, expires REAL NOT NULL, ip TEXT NOT NULL)",
        "CREATE INDEX idx_sessions_user_name ON sessions (user_name)",
        "CREATE TABLE sign_in_failures (key TEXT NOT NULL, at REAL NOT NULL)",
        "CREATE INDEX idx_sign_in_failures_key_at ON sign_in_failures (key, at)",
        "CREATE TABLE audit (id TEXT PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, "
        "origin TEXT NOT NULL, action TEXT NOT NULL, title_id TEXT NOT NULL, "
        "artwork_id TEXT, detail TEXT NOT NULL)",
        "CREATE INDEX idx_audit_artwork_id ON audit (artwork_id, at)",
        "CREATE INDEX idx_audit_at ON audit (at)",
    ):
        db.execute(sql)


def _eligibility_and_erasures(db: sqlite_utils.Database) -> None:
    # Each artwork's eligibility rules (JSON text, NULL when unrestricted; see
    # artwork/eligibility.py), and the record that a user's data was erased: when and by
    # whom, never whose.
    for sql in (
        "ALTER TABLE artworks ADD COLUMN eligibility TEXT",
        "CREATE TABLE erasures (id TEXT PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, "
        "origin TEXT NOT NULL)",
    ):
        db.execute(sql)


def _policies_and_shadows(db: sqlite_utils.Database) -> None:
    # Named policies (the champion that serves, challengers in shadow, each with its spec),
    # and beside each decision the pmfs its shadow challengers gave (JSON text, NULL: none).
    for sql in (
        "CREATE TABLE policies (name TEXT PRIMARY KEY, spec TEXT NOT NULL, role TEXT NOT NULL, "
        "created REAL NOT NULL, updated REAL NOT NULL)",
        "ALTER TABLE decisions ADD COLUMN shadow TEXT",
    ):
        db.execute(sql)


def _snapshots(db: sqlite_utils.Database) -> None:
    # Model snapshots kept in the database, used when several hosts share one (see
    # artwork/snapshot_table.py): each whole under its name, or flagged as in quarantine.
    db.execute("CREATE TABLE snapshots (name TEXT PRIMARY KEY, data BLOB NOT NULL, "
               "quarantined INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL)")


def _images(db: sqlite_utils.Database) -> None:
    # Artwork images kept in the database by their path (content-addressed), used when
    # several hosts share one (see artwork/image_table.py).
    db.execute("CREATE TABLE images (path TEXT PRIMARY KEY, data BLOB NOT NULL)")


def _crops(db: sqlite_utils.Database) -> None:
    # Each artwork's crop for each placement (artwork/crops.py): the box, its fit score, or
    # the reason it was refused, and the rendered crop's content-addressed path.
    for sql in (
        "CREATE TABLE crops (artwork_id TEXT NOT NULL, placement TEXT NOT NULL, x INTEGER, "
        "y INTEGER, width INTEGER, height INTEGER, score REAL NOT NULL, reason TEXT, path TEXT, "
        "adjusted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (artwork_id, placement))",
        "CREATE INDEX idx_crops_path ON crops (path)",
    ):
        db.execute(sql)


def _experiments(db: sqlite_utils.Database) -> None:
    # Experiments: users hashed into arms (named policies with shares) by a salt, from start
    # to stop, with the result recorded when stopped (JSON text).
    db.execute("CREATE TABLE experiments (name TEXT PRIMARY KEY, salt TEXT NOT NULL, "
               "arms TEXT NOT NULL, started REAL NOT NULL, stopped REAL, result TEXT)")


def _learner_reports(db: sqlite_utils.Database) -> None:
    # The learner's report of how far it is, kept in the database when several hosts share
    # one (see artwork/status_table.py), so that every host's readiness sees it.
    db.execute("CREATE TABLE learner_reports (policy TEXT PRIMARY KEY, report TEXT NOT NULL, "
               "updated REAL NOT NULL)")


def _user_decisions(db: sqlite_utils.Database) -> None:
    # A user's recent decisions, one index probe: what `stable_for` serves again (the index
    # is kept up at ingest, off the serving path) and what erasing a user deletes.
    db.execute("CREATE INDEX idx_decisions_user_id_timestamp ON decisions (user_id, timestamp)")


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_v1, _v2, _v3, _v4, _v5, _eligibility_and_erasures,
                                                                    _policies_and_shadows, _snapshots, _images, _crops,
                                                                    _experiments, _learner_reports, _user_decisions)
LATEST = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    """The schema version recorded in the database file (0 for a new file)."""
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(
    db: sqlite_utils.Database, target: int = LATEST, backup: Path | None = None
) -> int:
    """Bring the database up to `target`, copying it to `backup` first if it holds data."""
    current = schema_version(db)
    if current > LATEST:
        raise SchemaError(
            f"database schema version {current} is newer than this program's ({LATEST}); "
            "upgrade artbandit to open it"
        )
    if backup is not None and 0 < current < target:
        # sqlite-utils commits DDL as it goes, so a copy is what makes an upgrade undoable.
        copy = sqlite3.connect(backup)
        try:
            db.conn.backup(copy)
        finally:
            copy.close()
    for version in range(current + 1, target + 1):
        MIGRATIONS[version - 1](db)
        db.execute(f"PRAGMA user_version = {version}")
        db.conn.commit()
    return schema_version(db)
