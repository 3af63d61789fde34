"""Erasing a user's data and deleting artworks, on both backends."""
from __future__ import annotations

import pytest

from artwork.audit import Actor, acting
from artwork.errors import InvalidRecordError, NotFoundError
from artwork.records import LoggedDecision, Reward
from tests.conftest import count_rows


def _decision(i: int, user: str) -> LoggedDecision:
    return LoggedDecision(f"e{i}", 10.0 + i, user, "t", {"user_id": user}, ("a", "b"),
                          (0.5, 0.5), "a", 0.5, "uniform", 0)


def test_forget_user_removes_decisions_rewards_and_plays(store, log_decisions):
    store.add_title("t", "T", ["drama"])
    log_decisions(store, [_decision(i, "gone" if i % 2 else "kept") for i in range(10)])
    store.add_rewards([Reward(f"e{i}", 30.0, kind) for i in range(10) for kind in ("click", "play")])
    with acting(Actor("ada", "cli")):
        erasure = store.forget_user("gone")
    assert {d.user_id for d in store.decisions()} == {"kept"}
    assert count_rows(store, "decisions") == 5 and count_rows(store, "rewards") == 10
    assert count_rows(store, "plays") == 5 and store.genre_affinity("gone") == {}
    assert store.genre_affinity("kept") == {"drama": 1.0}
    assert store.erasures.erasures() == [erasure] and (erasure.actor, erasure.origin) == ("ada", "cli")
    with pytest.raises(InvalidRecordError):
        store.forget_user("")


def test_delete_artwork_removes_row_and_file(store, jpeg_bytes):
    store.add_title("t", "T")
    art = store.add_artwork_image("t", jpeg_bytes(3))
    path = store.image_path(art)
    assert path.exists()
    assert store.delete_artwork(art.id).id == art.id
    assert not path.exists() and store.list_artworks("t") == []
    with pytest.raises(NotFoundError):
        store.delete_artwork(art.id)
