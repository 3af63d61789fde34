"""`stable_for`: a user keeps the artwork first chosen for a title, shown as a repeat of that
decision, and the log of such a run still evaluates offline without bias."""
from __future__ import annotations

import time

import numpy as np
import pytest

from api.web.app import create_app
from artwork.reward_mapping import RewardMapping
from artwork.store import Store
from simulator.estimators import SelfNormalizedIPS
from simulator.policy_logs import policy_log
from simulator.world import World, WorldConfig
from tests.api.conftest import AUTH, add_artworks, app_settings

STABLE = 3600.0


@pytest.fixture
def stable_app(data_dir, jpeg_bytes):
    application = create_app(app_settings(data_dir, stable_for=STABLE))
    client = application.test_client()
    for title in ("t1", "t2"):
        client.post("/titles", json={"id": title, "name": title.upper()}, headers=AUTH)
        for aid in add_artworks(application, title, [jpeg_bytes(i + 10 * len(title)) for i in range(4)]
                                if title == "t1" else [jpeg_bytes(50 + i) for i in range(4)]):
            client.patch(f"/artworks/{aid}", json={"status": "live"}, headers=AUTH)
    yield application
    application.extensions["artbandit"].close()


def _choices(client, user: str, *titles: str, **params) -> dict[str, dict]:
    query = "&".join([f"user={user}", *(f"title={t}" for t in titles),
                      *(f"{k}={v}" for k, v in params.items())])
    r = client.get(f"/artwork?{query}")
    assert r.status_code == 200, r.get_json()
    return {c["title_id"]: c for c in r.get_json()["choices"]}


def test_the_same_user_asking_again_gets_the_same_decision_repeated(stable_app):
    client, store = stable_app.test_client(), stable_app.extensions["artbandit"].store
    first = _choices(client, "alice", "t1", device="tv")["t1"]
    assert first["repeat"] is False
    for _ in range(20):  # another device, another hour, a row with another title: still the same
        again = _choices(client, "alice", "t1", "t2", device="phone", hour=3)
        assert again["t1"]["repeat"] is True and again["t2"]["repeat"] is (_ > 0)
        assert {k: again["t1"][k] for k in first if k != "repeat"} == \
            {k: v for k, v in first.items() if k != "repeat"}
    # One decision logged per user and title; feedback on a repeat is the original's.
    assert store.count_decisions() == 2
    r = client.post("/feedback", json=[{"event_id": first["event_id"], "kind": "click"}])
    assert r.get_json() == {"recorded": 1, "duplicates": 0}
    others = {_choices(client, f"user{i}", "t1")["t1"]["event_id"] for i in range(10)}
    assert len(others) == 10 and first["event_id"] not in others
    metrics = client.get("/metrics", headers=AUTH).get_data(as_text=True)
    assert "artbandit_repeats_total 39.0" in metrics  # 20 for t1, 19 for t2


def test_another_process_finds_the_decision_once_ingested(stable_app, data_dir):
    first = _choices(stable_app.test_client(), "bob", "t1")["t1"]
    stable_app.extensions["artbandit"].store.ingest_journal()
    other = create_app(app_settings(data_dir, stable_for=STABLE, learn=False))
    try:
        again = _choices(other.test_client(), "bob", "t1")["t1"]
    finally:
        other.extensions["artbandit"].close()
    assert again["repeat"] is True and again["event_id"] == first["event_id"]


def test_a_retired_artwork_or_an_elapsed_period_gives_a_new_decision(stable_app, data_dir):
    client = stable_app.test_client()
    first = _choices(client, "carol", "t1")["t1"]
    r = client.patch(f"/artworks/{first['artwork_id']}", json={"status": "retired"}, headers=AUTH)
    assert r.status_code == 200, r.get_json()
    after = _choices(client, "carol", "t1")["t1"]
    assert after["repeat"] is False and after["artwork_id"] != first["artwork_id"]
    assert _choices(client, "carol", "t1")["t1"]["event_id"] == after["event_id"]
    short = create_app(app_settings(data_dir, stable_for=0.2, learn=False))
    try:
        c = short.test_client()
        d1 = _choices(c, "dave", "t2")["t2"]
        assert _choices(c, "dave", "t2")["t2"]["event_id"] == d1["event_id"]
        time.sleep(0.3)
        assert _choices(c, "dave", "t2")["t2"]["event_id"] != d1["event_id"]
    finally:
        short.extensions["artbandit"].close()


def test_without_stable_for_every_request_decides(app, client, jpeg_bytes):
    client.post("/titles", json={"id": "t1", "name": "One"}, headers=AUTH)
    for aid in add_artworks(app, "t1", [jpeg_bytes(i) for i in range(3)]):
        client.patch(f"/artworks/{aid}", json={"status": "live"}, headers=AUTH)
    ids = {_choices(client, "erin", "t1")["t1"]["event_id"] for _ in range(5)}
    assert len(ids) == 5


# The coverage run: seeded worlds; users come back to titles (one to three visits per
# impression, and the same user and title may come up again later), each visit's feedback
# is sent under the event id it was shown. The unit of evaluation is the original decision;
# its reward is whether any of its visits led to a play.
REPS, IMPRESSIONS, WINDOW = 20, 300, 600.0
FIXED_SHADOW, SHADOW_SPEC = "default-shadow", "default:0.4"


def _stable_world(data_dir, jpeg_bytes, seed: int) -> tuple[float, float, float, int]:
    """One seeded world served with stable_for; (SNIPS low, high, truth, repeats)."""
    world = World(WorldConfig(n_users=150, n_titles=3, artworks_per_title=4, seed=seed))
    store = Store.open(data_dir)
    index = {}
    for t in range(3):
        store.add_title(world.title_id(t), f"T{t}", ["drama"])
        for a, art in enumerate(store.add_artworks(
                [{"title_id": world.title_id(t), "data": jpeg_bytes(seed * 100 + t * 10 + i),
                  "status": "live"} for i in range(4)])):
            index[art.id] = a
    store.policies.add(FIXED_SHADOW, SHADOW_SPEC)
    store.close_all()
    app = create_app(app_settings(data_dir, stable_for=STABLE, reward_window=WINDOW,
                                  floor=0.1, floor_min=0.1, seed=seed))
    rng, noise = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    visits: dict[str, list[np.ndarray]] = {}  # event id -> take probabilities of each visit
    repeats = 0
    try:
        client = app.test_client()
        for _ in range(IMPRESSIONS):
            imp = world.impression(rng)
            f = imp.context.features
            for _visit in range(int(rng.integers(1, 4))):
                choice = _choices(client, imp.context.user_id, imp.context.title_id,
                                  device=f["device"], country=f["country"], hour=f["hour"])
                choice = choice[imp.context.title_id]
                repeats += choice["repeat"]
                visits.setdefault(choice["event_id"], []).append(world.take_probabilities(imp))
                kinds = world.feedback(imp, index[choice["artwork_id"]], noise)
                r = client.post("/feedback", json=[{"event_id": choice["event_id"], "kind": k}
                                                   for k in kinds])
                assert r.status_code == 202
    finally:
        app.extensions["artbandit"].close()
    store = Store.open(data_dir)
    try:
        logged = policy_log(store, [FIXED_SHADOW], window=WINDOW, reward_of=RewardMapping(),
                            now=time.time() + WINDOW + 10)
    finally:
        store.close_all()
    assert logged.log.n_rounds == len(visits)  # one unit per original decision
    truth = np.mean([
        sum(d.shadow[FIXED_SHADOW][k] * (1 - np.prod([1 - take[index[c]] for take in visits[d.event_id]]))
            for k, c in enumerate(d.candidates))
        for d in logged.decisions])
    est = SelfNormalizedIPS().estimate(logged.log, logged.target(FIXED_SHADOW))
    return est.ci_low, est.ci_high, float(truth), repeats


@pytest.mark.slow
def test_a_stable_run_evaluates_offline_without_bias(tmp_path, jpeg_bytes):
    results = [_stable_world(tmp_path / f"rep{seed}", jpeg_bytes, seed) for seed in range(REPS)]
    assert all(r[3] > IMPRESSIONS // 2 for r in results)  # repeats were really served
    covered = [low <= truth <= high for low, high, truth, _ in results]
    assert sum(covered) >= 0.9 * REPS, results
