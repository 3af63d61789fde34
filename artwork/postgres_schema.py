"""The PostgreSQL backend's versioned schema: the same versions as artwork/schema.py's, step for step.

Version N here holds what version N of the SQLite schema holds, in PostgreSQL's types: text
compared byte by byte (`COLLATE "C"`, as SQLite compares it), double precision for SQLite's
REAL, bigint for its INTEGER, bytea for its BLOB. The version is kept in the one-row table
`artbandit_schema`. PostgreSQL runs DDL inside transactions, so each step commits with its
version number or not at all (no backup copy is needed, unlike SQLite's).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from artwork.errors import SchemaError

if TYPE_CHECKING:
    import psycopg

VERSION_TABLE = "artbandit_schema"
# Text compared byte by byte, as SQLite compares it: orderings and LIKE agree on both backends.
_T = 'TEXT COLLATE "C"'
_F = "DOUBLE PRECISION"


def _v1() -> list[str]:
    return [
        f"CREATE TABLE titles (id {_T} PRIMARY KEY, name {_T} NOT NULL, genres {_T}, created {_F})",
        f"CREATE TABLE artworks (id {_T} PRIMARY KEY, title_id {_T} NOT NULL REFERENCES titles (id), "
        f"path {_T} NOT NULL, source {_T} NOT NULL, frame_time {_F}, width BIGINT, height BIGINT, "
        f"quality {_T}, tags {_T}, embedding BYTEA, status {_T} NOT NULL DEFAULT 'candidate', "
        f"is_default BIGINT DEFAULT 0, created {_F})",
        "CREATE INDEX idx_artworks_title_id_status ON artworks (title_id, status)",
        f"CREATE TABLE decisions (event_id {_T} PRIMARY KEY, timestamp {_F} NOT NULL, "
        f"user_id {_T} NOT NULL, title_id {_T} NOT NULL, context {_T}, candidates {_T} NOT NULL, "
        f"pmf {_T} NOT NULL, action {_T} NOT NULL, probability {_F} NOT NULL, policy {_T}, "
        "model_version BIGINT)",
        "CREATE INDEX idx_decisions_timestamp_event_id ON decisions (timestamp, event_id)",
        f"CREATE TABLE rewards (event_id {_T} REFERENCES decisions (event_id), kind {_T}, "
        f"timestamp {_F} NOT NULL, value {_F}, PRIMARY KEY (event_id, kind))",
    ]


def _v2() -> list[str]:
    return [
        "ALTER TABLE artworks ADD COLUMN frame_index BIGINT",
        "ALTER TABLE artworks ADD COLUMN shot BIGINT",
        f"ALTER TABLE artworks ADD COLUMN embedder {_T}",
        "CREATE INDEX IF NOT EXISTS idx_decisions_user_id ON decisions (user_id)",
        "CREATE INDEX IF NOT EXISTS idx_decisions_title_id_timestamp ON decisions (title_id, timestamp)",
    ]


def _v3() -> list[str]:
    # `seq` numbers plays in commit order (writers are serialized), as SQLite's rowid does.
    return [
        f"CREATE TABLE journal (name {_T} PRIMARY KEY, ingested BIGINT NOT NULL)",
        "CREATE TABLE plays (seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE, "
        f"event_id {_T} PRIMARY KEY REFERENCES decisions (event_id), user_id {_T} NOT NULL, "
        f"title_id {_T} NOT NULL, timestamp {_F} NOT NULL)",
        "CREATE INDEX idx_plays_user_id_timestamp ON plays (user_id, timestamp)",
        "INSERT INTO plays (event_id, user_id, title_id, timestamp) "
        "SELECT d.event_id, d.user_id, d.title_id, d.timestamp FROM rewards r "
        "JOIN decisions d ON d.event_id = r.event_id WHERE r.kind = 'play' ORDER BY r.timestamp",
        "DROP INDEX IF EXISTS idx_decisions_user_id",
    ]


def _v4() -> list[str]:
    return [
        f"CREATE TABLE actions (key {_T} PRIMARY KEY, artwork_id {_T} NOT NULL, "
        f"description {_T} NOT NULL)",
        f"ALTER TABLE decisions ADD COLUMN action_keys {_T}",
    ]


def _v5() -> list[str]:
    # Accounts, their API tokens and sessions (digests only), failed sign-ins, the audit trail.
    return [
        f"CREATE TABLE users (name {_T} PRIMARY KEY, role {_T} NOT NULL, "
        f"password_hash {_T} NOT NULL, created {_F} NOT NULL, disabled BIGINT NOT NULL DEFAULT 0)",
        f"CREATE TABLE api_tokens (id {_T} PRIMARY KEY, user_name {_T} NOT NULL "
        f"REFERENCES users (name), digest {_T} NOT NULL UNIQUE, label {_T} NOT NULL, "
        f"created {_F} NOT NULL, revoked {_F})",
        f"CREATE TABLE sessions (digest {_T} PRIMARY KEY, user_name {_T} NOT NULL, "
        f"created {_F} NOT NULL, expires {_F} NOT NULL, ip {_T} NOT NULL)",
        "CREATE INDEX idx_sessions_user_name ON sessions (user_name)",
        f"CREATE TABLE sign_in_failures (key {_T} NOT NULL, at {_F} NOT NULL)",
        "CREATE INDEX idx_sign_in_failures_key_at ON sign_in_failures (key, at)",
        f"CREATE TABLE audit (id {_T} PRIMARY KEY, at {_F} NOT NULL, actor {_T} NOT NULL, "
        f"origin {_T} NOT NULL, action {_T} NOT NULL, title_id {_T} NOT NULL, "
        f"artwork_id {_T}, detail {_T} NOT NULL)",
        "CREATE INDEX idx_audit_artwork_id ON audit (artwork_id, at)",
        "CREATE INDEX idx_audit_at ON audit (at)",
    ]


def _eligibility_and_erasures() -> list[str]:
    # Each artwork's eligibility rules, and when (and by whom) a user's data was erased.
    return [
        f"ALTER TABLE artworks ADD COLUMN eligibility {_T}",
        f"CREATE TABLE erasures (id {_T} PRIMARY KEY, at {_F} NOT NULL, actor {_T} NOT NULL, "
        f"origin {_T} NOT NULL)",
    ]


def _policies_and_shadows() -> list[str]:
    # Named policies (champion, challengers), and the shadow challengers' pmfs per decision.
    return [
        f"CREATE TABLE policies (name {_T} PRIMARY KEY, spec {_T} NOT NULL, role {_T} NOT NULL, "
        f"created {_F} NOT NULL, updated {_F} NOT NULL)",
        f"ALTER TABLE decisions ADD COLUMN shadow {_T}",
    ]


def _snapshots() -> list[str]:
    # Model snapshots, so that every host sees the learner's (artwork/snapshot_table.py).
    return [f"CREATE TABLE snapshots (name {_T} PRIMARY KEY, data BYTEA NOT NULL, "
            f"quarantined BIGINT NOT NULL DEFAULT 0, created {_F} NOT NULL)"]


def _images() -> list[str]:
    # Artwork images by path, so that a new host serves them (artwork/image_table.py).
    return [f"CREATE TABLE images (path {_T} PRIMARY KEY, data BYTEA NOT NULL)"]


def _crops() -> list[str]:
    # Each artwork's crop per placement: box, fit score or refusal, rendered crop's path.
    return [
        f"CREATE TABLE crops (artwork_id {_T} NOT NULL, placement {_T} NOT NULL, x BIGINT, "
        f"y BIGINT, width BIGINT, height BIGINT, score {_F} NOT NULL, reason {_T}, path {_T}, "
        "adjusted BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (artwork_id, placement))",
        "CREATE INDEX idx_crops_path ON crops (path)",
    ]


def _experiments() -> list[str]:
    # Experiments: arms (named policies with shares), the salt users are hashed with, the result.
    return [f"CREATE TABLE experiments (name {_T} PRIMARY KEY, salt {_T} NOT NULL, "
            f"arms {_T} NOT NULL, started {_F} NOT NULL, stopped {_F}, result {_T})"]


def _learner_reports() -> list[str]:
    # The learner's status report, for every host's readiness (artwork/status_table.py).
    return [f"CREATE TABLE learner_reports (policy {_T} PRIMARY KEY, report {_T} NOT NULL, "
            f"updated {_F} NOT NULL)"]


def _user_decisions() -> list[str]:
    # A user's recent decisions in one index probe (`stable_for`; erasing a user).
    return ["CREATE INDEX idx_decisions_user_id_timestamp ON decisions (user_id, timestamp)"]


MIGRATIONS: tuple[Callable[[], list[str]], ...] = (_v1, _v2, _v3, _v4, _v5, _eligibility_and_erasures,
                                                   _policies_and_shadows, _snapshots, _images, _crops,
                                                   _experiments, _learner_reports,
                                                   _user_decisions)
LATEST = len(MIGRATIONS)


def schema_version(conn: psycopg.Connection) -> int:
    """The schema version recorded in the database (0 for a new one)."""
    if conn.execute("SELECT to_regclass(%s)", [VERSION_TABLE]).fetchone()[0] is None:
        return 0
    row = conn.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
    return 0 if row is None else row[0]


def migrate(conn: psycopg.Connection, target: int = LATEST) -> int:
    """Bring the database up to `target`, one transaction per version.

    The caller holds the lock that keeps other processes from migrating at the same time.
    """
    current = schema_version(conn)
    if current > LATEST:
        raise SchemaError(
            f"database schema version {current} is newer than this program's ({LATEST}); "
            "upgrade artbandit to open it"
        )
    for version in range(current + 1, target + 1):
        with conn.transaction():
            for statement in MIGRATIONS[version - 1]():
                conn.execute(statement)
            conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
            conn.execute(f"DELETE FROM {VERSION_TABLE}")
            conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (%s)", [version])
    return schema_version(conn)
