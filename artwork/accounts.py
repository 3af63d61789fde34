"""Accounts: users with a role, their API tokens and studio sessions, and the sign-in rate limit.

Passwords are kept as scrypt hashes (the standard library's, OpenSSL's implementation) with a
random salt each; API tokens and session ids are random 32-byte values of which only the
SHA-256 digest is stored, so a copy of the database signs no one in. Failed sign-ins are
counted in the database, so every serving process sees the same count.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from artwork.database import Database
from artwork.errors import AlreadyExistsError, CatalogError, InvalidRecordError, NotFoundError

__all__ = ["ROLES", "Accounts", "ApiToken", "InvalidCredentialsError", "SignInThrottledError",
           "User", "role_allows", "session_secret"]

ROLES = ("viewer", "editor", "admin")  # each may do what the ones before it may
USER_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# scrypt cost: 2**15 x 8 x 128 bytes = 32 MiB and some 50-100 ms per hash.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2 ** 15, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
# The rate limit: this many failed sign-ins per key within the window, then refusals until the
# oldest leaves the window. A key is (client address, user name), so nobody elsewhere can lock
# a user out, and a lockout ends one window after the last failure at most.
MAX_FAILURES = 10
FAILURE_WINDOW_SECONDS = 60.0
SESSION_SECONDS = 12 * 3600.0
SECRET_FILE = "session-secret"


class InvalidCredentialsError(CatalogError):
    """A user name, password or token that signs no one in."""


class SignInThrottledError(CatalogError):
    """Too many failed sign-ins from one client for one user within the window."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    """Someone who may sign in, with what their role allows."""

    name: str
    role: str
    created: float
    disabled: bool = False


@dataclass(frozen=True)
class ApiToken:
    """A user's API token as stored: its id and label, never the token itself."""

    id: str
    user_name: str
    label: str
    created: float
    revoked: float | None = None


def role_allows(role: str, needed: str) -> bool:
    """Whether `role` may do what `needed` may (admin > editor > viewer)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def digest(secret: str) -> str:
    """The stored form of a token or session id: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM,
                          dklen=32)


def hash_password(password: str) -> str:
    """A salted scrypt hash of a password, with its parameters: `scrypt$n$r$p$salt$hash`."""
    salt = secrets.token_bytes(16)
    return _stored(salt, _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P))


def _stored(salt: bytes, key: bytes) -> str:
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${key.hex()}"


def check_password(stored: str, password: str) -> bool:
    """Whether `password` matches a hash made by `hash_password` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        given = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(given, bytes.fromhex(key))


# Checked against when the user does not exist, so an unknown name costs the same scrypt
# time. Its key is random, not derived (no password matches it, and deriving one at import
# cost every command 100 ms of start-up).
_DUMMY_HASH = _stored(secrets.token_bytes(16), secrets.token_bytes(32))


def session_secret(data_dir: Path) -> bytes:
    """The data directory's random key for signing cookies, made on first use (mode 0600).

    Every process of one data directory reads the same key; the first one to need it writes it
    to a temporary file and links it into place, so none ever reads a half-written key.
    """
    path = Path(data_dir) / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process was first: use its key
            pass
    finally:
        temporary.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def check_role(role: str) -> str:
    """`role` if it is one of ROLES; InvalidRecordError otherwise."""
    if role not in ROLES:
        raise InvalidRecordError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


class Accounts:
    """Users, API tokens, sessions and failed sign-ins, on the store's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- users -----------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str) -> User:
        """Add a user; AlreadyExistsError if the name is taken."""
        if not isinstance(name, str) or not USER_NAME.fullmatch(name):
            raise InvalidRecordError(
                f"user name {name!r} must be 1 to 64 lower-case letters, digits, '.', '_' or '-'")
        check_role(role)
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InvalidRecordError(
                f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        user = User(name, role, time.time())
        with self._db.transaction() as tx:
            if not tx.insert_new("users", ("name", "role", "password_hash", "created", "disabled"),
                                 [(name, role, hash_password(password), user.created, 0)]):
                raise AlreadyExistsError(f"user {name!r} already exists; pick another name")
        return user

    def get_user(self, name: str) -> User:
        """The user with this name; NotFoundError."""
        row = self._db.query_one(
            "SELECT name, role, created, disabled FROM users WHERE name = ?", [name])
        if row is None:
            raise NotFoundError(f"no user {name!r}", kind="user")
        return User(row[0], row[1], row[2], bool(row[3]))

    def list_users(self) -> list[User]:
        """Every user, by name."""
        rows = self._db.read("SELECT name, role, created, disabled FROM users ORDER BY name")
        return [User(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def has_users(self) -> bool:
        """Whether any user exists (until one does, a configured bootstrap token may act)."""
        return self._db.query_one("SELECT 1 FROM users LIMIT 1") is not None

    def set_role(self, name: str, role: str) -> User:
        """Change a user's role (their sessions and tokens carry the new one at once)."""
        check_role(role)
        with self._db.transaction() as tx:
            if not tx.execute("UPDATE users SET role = ? WHERE name = ?", [role, name]):
                raise NotFoundError(f"no user {name!r}", kind="user")
        return self.get_user(name)

    def disable_user(self, name: str) -> User:
        """Stop a user from signing in: their sessions end and their tokens stop working."""
        with self._db.transaction() as tx:
            if not tx.execute("UPDATE users SET disabled = 1 WHERE name = ?", [name]):
                raise NotFoundError(f"no user {name!r}", kind="user")
            tx.execute("DELETE FROM sessions WHERE user_name = ?", [name])
        return self.get_user(name)

    def authenticate(self, name: str, password: str, client: str) -> User:
        """The user these credentials sign in; InvalidCredentialsError, or SignInThrottledError
        after MAX_FAILURES failures for (client, name) within FAILURE_WINDOW_SECONDS."""
        name = name.strip().lower()
        self.check_throttle(client, name)
        row = self._db.query_one("SELECT password_hash, disabled FROM users WHERE name = ?", [name])
        ok = check_password(row[0] if row else _DUMMY_HASH, password) and row is not None
        if not ok or row[1]:
            self.record_failure(client, name)
            raise InvalidCredentialsError("that user name and password do not match an account")
        return self.get_user(name)

    # -- the rate limit -------------------------------------------------------------------

    def check_throttle(self, client: str, what: str) -> None:
        """SignInThrottledError if `client` failed MAX_FAILURES times at `what` within the window."""
        since = time.time() - FAILURE_WINDOW_SECONDS
        rows = self._db.read("SELECT at FROM sign_in_failures WHERE key = ? AND at > ? ORDER BY at",
                             [digest(f"{client}\0{what}"), since])
        if len(rows) >= MAX_FAILURES:
            wait = max(1, int(rows[-MAX_FAILURES][0] - since + 0.999))
            raise SignInThrottledError(
                f"too many failed sign-ins; wait {wait} s and try again", retry_after=wait)

    def record_failure(self, client: str, what: str) -> None:
        """Count one failed sign-in of `client` at `what` (a user name); forget expired ones."""
        now = time.time()
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM sign_in_failures WHERE at < ?", [now - FAILURE_WINDOW_SECONDS])
            tx.execute("INSERT INTO sign_in_failures (key, at) VALUES (?, ?)",
                       [digest(f"{client}\0{what}"), now])

    # -- API tokens ----------------------------------------------------------------------

    def create_token(self, name: str, label: str = "") -> tuple[ApiToken, str]:
        """A new API token for a user: its record and the token itself (shown once, never stored)."""
        self.get_user(name)
        secret = "abt_" + secrets.token_urlsafe(32)
        token = ApiToken(uuid.uuid4().hex[:16], name, label.strip()[:100], time.time())
        with self._db.transaction() as tx:
            tx.execute("INSERT INTO api_tokens (id, user_name, digest, label, created, revoked) "
                       "VALUES (?, ?, ?, ?, ?, NULL)",
                       [token.id, name, digest(secret), token.label, token.created])
        return token, secret

    def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke an API token by id; it stops working at once."""
        with self._db.transaction() as tx:
            if not tx.execute("UPDATE api_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                              [time.time(), token_id]):
                if tx.query_one("SELECT 1 FROM api_tokens WHERE id = ?", [token_id]) is None:
                    raise NotFoundError(f"no API token {token_id!r}", kind="token")
        return next(t for t in self.list_tokens() if t.id == token_id)

    def list_tokens(self, name: str | None = None) -> list[ApiToken]:
        """API tokens (of one user, or all), oldest first."""
        sql = "SELECT id, user_name, label, created, revoked FROM api_tokens"
        rows = self._db.read(sql + (" WHERE user_name = ?" if name else "") + " ORDER BY created",
                             [name] if name else [])
        return [ApiToken(*r) for r in rows]

    def user_for_token(self, secret: str) -> User | None:
        """The enabled user a live API token belongs to, or None."""
        row = self._db.query_one(
            "SELECT u.name, u.role, u.created, u.disabled FROM api_tokens t "
            "JOIN users u ON u.name = t.user_name "
            "WHERE t.digest = ? AND t.revoked IS NULL AND u.disabled = 0", [digest(secret)])
        return None if row is None else User(row[0], row[1], row[2], bool(row[3]))

    # -- sessions ----------------------------------------------------------------------

    def start_session(self, name: str, client: str, seconds: float = SESSION_SECONDS) -> str:
        """Start a studio session for `name`; returns its id (only its digest is stored)."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM sessions WHERE expires < ?", [now])
            tx.execute("INSERT INTO sessions (digest, user_name, created, expires, ip) "
                       "VALUES (?, ?, ?, ?, ?)", [digest(sid), name, now, now + seconds, client])
        return sid

    def session_user(self, sid: str) -> str | None:
        """The name a live session id belongs to (the caller checks that user), or None."""
        row = self._db.query_one("SELECT user_name FROM sessions WHERE digest = ? AND expires > ?",
                                 [digest(sid), time.time()])
        return None if row is None else row[0]

    def end_session(self, sid: str) -> None:
        """End a session (sign-out): its id signs no one in from now on."""
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM sessions WHERE digest = ?", [digest(sid)])

    def end_sessions(self, name: str) -> int:
        """End every session of a user; returns how many there were."""
        with self._db.transaction() as tx:
            return tx.execute("DELETE FROM sessions WHERE user_name = ?", [name])
