"""Deleting artworks and forgetting users: through the CLI and the API, checked in every table and file."""
from __future__ import annotations

import json
import time

import numpy as np
import orjson

from api.cli import main
from artwork.codecs import decision_row
from artwork.records import LoggedDecision, Reward
from artwork.store import Store
from tests.api.conftest import AUTH, add_artworks
from tests.conftest import log_decisions

VICTIM = "victim-7"


def _decision(i: int, user: str) -> LoggedDecision:
    arts = ("a1", "a2", "a3")
    return LoggedDecision(
        f"e{i:04d}", 100.0 + i, user, "t1",
        {"user_id": user, "title_id": "t1", "features": {"device": "tv"},
         "genre_affinity": {}, "title_genres": ["drama"]},
        arts, (1 / 3, 1 / 3, 1 / 3), arts[i % 3], 1 / 3, "uniform", 0)


def _fill(store: Store) -> None:
    """300 decisions of 20 users (one of them VICTIM), plays on some; 10 more only journaled."""
    store.add_title("t1", "One", ["drama"])
    rng = np.random.default_rng(0)
    for i in range(300):
        log_decisions(store, [_decision(i, VICTIM if i % 20 == 0 else f"u{i % 20}")])
        if rng.random() < 0.3:
            store.add_rewards([Reward(f"e{i:04d}", 101.0 + i, "play")])
    store.journal_decisions([_decision(i, VICTIM if i % 2 else "u1") for i in range(300, 310)])
    refused = orjson.dumps(decision_row(_decision(999, VICTIM))[:5])  # a line ingest refused
    store.decision_log.dead_letters.append("old.jsonl", [(refused, "too few columns")])
    store.decision_log.dead_letters.append("old.jsonl", [(b"[1]", "too few columns")])


def _rows_naming(store: Store, text: str) -> list[tuple[str, tuple]]:
    tables = [r[0] for r in store.db.read("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [(t, row) for t in tables for row in store.db.read(f"SELECT * FROM {t}")
            if text in repr(row)]


def test_forget_erases_every_row_journal_line_and_dead_letter(data_dir, tmp_path, capsys):
    store = Store.open(data_dir)
    _fill(store)
    assert store.genre_affinity(VICTIM) == {"drama": 1.0}
    assert main(["--data-dir", str(data_dir), "user", "forget", VICTIM, "--json"]) == 0
    erasure = json.loads(capsys.readouterr().out)
    store.ingest_journal()
    assert _rows_naming(store, VICTIM) == []
    assert store.genre_affinity(VICTIM) == {}
    journal = b"".join(p.read_bytes() for p in (data_dir / "journal").glob("*.jsonl"))
    dead = store.decision_log.dead_letters.path.read_bytes()
    assert VICTIM.encode() not in journal + dead and b"[1]" in dead
    assert [e.id for e in store.erasures.erasures()] == [erasure["erasure"]]
    others = [d for d in store.decisions()]
    assert len(others) == 285 + 5 and {d.user_id for d in others} == {f"u{i}" for i in range(1, 20)}

    out = tmp_path / "after.csv"
    assert main(["--data-dir", str(data_dir), "log", "export", str(out), "--window", "60"]) == 0
    assert VICTIM not in out.read_text() and "u1" in out.read_text()
    capsys.readouterr()
    assert main(["replay", str(out), "--policy", "uniform", "--estimators", "ips,snips",
                 "--json", "--out", str(tmp_path / "report")]) == 0
    estimates = json.loads(capsys.readouterr().out)["estimates"]
    assert {r["estimator"] for r in estimates} == {"ips", "snips"}
    assert main(["--data-dir", str(data_dir), "user", "forget", " "]) == 2
    assert "user id" in capsys.readouterr().err


def test_admin_endpoint_erases_a_served_user(client, app, jpeg_bytes):
    client.post("/titles", json={"id": "t", "name": "T", "genres": ["drama"]}, headers=AUTH)
    add_artworks(app, "t", [jpeg_bytes(i) for i in range(2)], status="live")
    events = [client.get(f"/artwork?user={u}&title=t").get_json()["event_id"]
              for u in (VICTIM, "other", VICTIM)]
    client.post("/feedback", json=[{"event_id": e, "kind": "play"} for e in events])
    store = app.extensions["artbandit"].store
    affinity = app.extensions["artbandit"].engine.affinity
    deadline = time.monotonic() + 5  # the plays are tailed every second
    while affinity.get(VICTIM) == {} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert affinity.get(VICTIM) == {"drama": 1.0}
    r = client.post("/erasures", json={"user": VICTIM}, headers=AUTH)
    assert r.status_code == 201 and set(r.get_json()) == {"id", "at"}
    assert _rows_naming(store, VICTIM) == []
    assert affinity.get(VICTIM) == {}
    assert store.get_decision(events[1]).user_id == "other"
    r = client.post("/erasures", json={"user": ""}, headers=AUTH)
    assert r.status_code == 400 and "user" in r.get_json()["error"]
    assert client.post("/erasures", json={"user": VICTIM}).status_code == 401


def test_deleting_an_artwork_keeps_its_logged_decisions(client, app, jpeg_bytes, data_dir, capsys):
    client.post("/titles", json={"id": "t", "name": "T"}, headers=AUTH)
    ids = add_artworks(app, "t", [jpeg_bytes(i) for i in range(3)], status="live")
    store = app.extensions["artbandit"].store
    events = [client.get(f"/artwork?user=u{i}&title=t").get_json()["event_id"] for i in range(30)]
    path = store.image_path(store.get_artwork(ids[0]))
    r = client.delete(f"/artworks/{ids[0]}", headers=AUTH)
    assert r.status_code == 200 and r.get_json() == {"deleted": ids[0], "title_id": "t"}
    assert not path.exists()
    assert client.get(f"/artworks/{ids[0]}/image").status_code == 404
    assert client.delete(f"/artworks/{ids[0]}", headers=AUTH).status_code == 404
    assert all(ids[0] in store.get_decision(e).candidates for e in events)
    assert {client.get(f"/artwork?user=v{i}&title=t").get_json()["artwork_id"]
            for i in range(50)} <= set(ids[1:])
    assert [e.action for e in store.audit_for(ids[0])][-1] == "delete"
    assert main(["--data-dir", str(data_dir), "artwork", "delete", ids[1]]) == 0
    assert "deleted artwork" in capsys.readouterr().out
    assert [a.id for a in store.list_artworks("t")] == [ids[2]]
