"""Accounts and the audit trail in the store: what is kept (hashes and digests only), what ends
at once, the sign-in rate limit per (client, user), and who changed the catalog."""
from __future__ import annotations

import time

import pytest

from artwork.accounts import (FAILURE_WINDOW_SECONDS, MAX_FAILURES, InvalidCredentialsError,
                              SignInThrottledError, digest, role_allows, session_secret)
from artwork.audit import Actor, acting
from artwork.errors import AlreadyExistsError, InvalidRecordError, NotFoundError

PASSWORD = "correct horse battery staple"


def test_passwords_tokens_and_sessions_are_stored_only_as_hashes(store):
    store.accounts.add_user("ann", "editor", PASSWORD)
    _, token = store.accounts.create_token("ann", "ci")
    sid = store.accounts.start_session("ann", "10.0.0.1")
    dump = "\n".join(str(row) for table in ("users", "api_tokens", "sessions")
                     for row in store.db.read(f"SELECT * FROM {table}"))
    for secret in (PASSWORD, token, sid):
        assert secret not in dump
    assert digest(token) in dump and digest(sid) in dump
    stored = store.db.query_one("SELECT password_hash FROM users WHERE name = 'ann'")[0]
    assert stored.startswith("scrypt$") and len(stored.split("$")) == 6
    # Two users with one password get different hashes (a salt each).
    store.accounts.add_user("bob", "viewer", PASSWORD)
    other = store.db.query_one("SELECT password_hash FROM users WHERE name = 'bob'")[0]
    assert other != stored


def test_sign_in_checks_the_password_and_the_account(store):
    store.accounts.add_user("ann", "editor", PASSWORD)
    assert store.accounts.authenticate(" Ann ", PASSWORD, "c").name == "ann"
    for name, password in (("ann", PASSWORD + "x"), ("nobody", PASSWORD), ("ann", "")):
        with pytest.raises(InvalidCredentialsError, match="do not match an account"):
            store.accounts.authenticate(name, password, "c")
    store.accounts.disable_user("ann")
    with pytest.raises(InvalidCredentialsError):
        store.accounts.authenticate("ann", PASSWORD, "c2")


@pytest.mark.parametrize("name, role, password, message", [
    ("Ann", "editor", PASSWORD, "user name"),
    ("a b", "editor", PASSWORD, "user name"),
    ("", "editor", PASSWORD, "user name"),
    ("ann", "owner", PASSWORD, "role 'owner'"),
    ("ann", "editor", "short", "10 to 1024 characters"),
])
def test_bad_users_are_refused(store, name, role, password, message):
    with pytest.raises(InvalidRecordError, match=message):
        store.accounts.add_user(name, role, password)
    assert store.accounts.list_users() == []


def test_a_name_is_taken_once(store):
    store.accounts.add_user("ann", "editor", PASSWORD)
    with pytest.raises(AlreadyExistsError, match="already exists"):
        store.accounts.add_user("ann", "admin", PASSWORD)


def test_roles_are_ordered():
    assert role_allows("admin", "editor") and role_allows("editor", "viewer")
    assert not role_allows("viewer", "editor") and not role_allows("nobody", "viewer")


def test_tokens_and_sessions_end_at_once(store):
    store.accounts.add_user("ann", "editor", PASSWORD)
    record, token = store.accounts.create_token("ann")
    assert store.accounts.user_for_token(token).name == "ann"
    assert store.accounts.revoke_token(record.id).revoked is not None
    assert store.accounts.user_for_token(token) is None
    with pytest.raises(NotFoundError):
        store.accounts.revoke_token("nope")
    sid = store.accounts.start_session("ann", "c")
    assert store.accounts.session_user(sid) == "ann"
    store.accounts.end_session(sid)
    assert store.accounts.session_user(sid) is None
    sids = [store.accounts.start_session("ann", "c") for _ in range(2)]
    assert store.accounts.end_sessions("ann") == 2
    assert all(store.accounts.session_user(s) is None for s in sids)
    expired = store.accounts.start_session("ann", "c", seconds=-1)
    assert store.accounts.session_user(expired) is None


def test_the_rate_limit_is_per_client_and_user_and_ends_with_the_window(store):
    store.accounts.add_user("ann", "editor", PASSWORD)
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidCredentialsError):
            store.accounts.authenticate("ann", "wrong", "attacker")
    with pytest.raises(SignInThrottledError) as throttled:
        store.accounts.authenticate("ann", PASSWORD, "attacker")
    assert 1 <= throttled.value.retry_after <= FAILURE_WINDOW_SECONDS
    # Ann signs in from her own machine; the attacker's failures do not lock her out.
    assert store.accounts.authenticate("ann", PASSWORD, "ann's laptop").name == "ann"
    # Once the failures are older than the window, the attacker's client may try again.
    with store.db.transaction() as tx:
        tx.execute("UPDATE sign_in_failures SET at = at - ?", [FAILURE_WINDOW_SECONDS + 1])
    assert store.accounts.authenticate("ann", PASSWORD, "attacker").name == "ann"


def test_the_session_secret_is_random_kept_and_private(tmp_path):
    first = session_secret(tmp_path)
    assert len(first) == 32 and session_secret(tmp_path) == first
    assert session_secret(tmp_path / "other") != first


def test_catalog_changes_are_audited_with_the_actor_in_force(store, jpeg_bytes):
    with acting(Actor("ann", "10.0.0.1 via studio")):
        store.add_title("t1", "One")
        art = store.add_artwork_image("t1", jpeg_bytes(1), name="poster.jpg")
        store.set_statuses([art.id], "live", title_id="t1")
        store.set_status(art.id, "live")  # no change, no entry
        store.set_default(art.id)
    store.set_status(art.id, "retired")
    trail = store.audit_for(art.id)
    assert [(e.actor, e.action, e.detail) for e in trail] == [
        ("ann", "upload", {"file": "poster.jpg", "source": "upload"}),
        ("ann", "status", {"from": "candidate", "to": "live"}),
        ("ann", "default", {"default": True}),
        ("system", "status", {"from": "live", "to": "retired"}),
    ]
    assert trail[0].origin == "10.0.0.1 via studio" and trail[0].at <= time.time()
    everything = store.audit.entries()
    assert [e.action for e in everything] == ["title", "upload", "status", "default", "status"]
    assert store.audit.entries(since=trail[-1].at) == [trail[-1]]


def test_a_video_frame_records_where_it_came_from(store, jpeg_bytes):
    store.add_title("t1", "One")
    art = store.add_artwork_image("t1", jpeg_bytes(2), name="frame-12.jpg", source="video",
                                  frame_time=12.5, shot=3)
    [upload] = store.audit_for(art.id)
    assert upload.detail == {"file": "frame-12.jpg", "source": "video", "frame_time": 12.5,
                             "shot": 3}
