"""Named policies: the registry, `artbandit policy`, shadow pmfs logged beside each decision,
and (slow) a shadow challenger evaluated offline on a real server against the world's truth."""
from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import requests

from api.cli import main
from api.web.app import create_app
from artwork.errors import AlreadyExistsError, InvalidRecordError
from artwork.policies import CHAMPION, SHADOW
from artwork.reward_mapping import RewardMapping
from artwork.store import Store
from simulator.errors import NoEvidenceError
from simulator.estimators import SelfNormalizedIPS
from simulator.policy_logs import policy_log
from simulator.world import World, WorldConfig
from tests.api.conftest import LiveServer, app_settings

CHALLENGER, CHALLENGER_SPEC = "eg-challenger", "egreedy:epsilon=0.2"


def test_the_registry_keeps_one_champion_and_refuses_bad_names(store):
    store.policies.add("a", "uniform")
    store.policies.add("b", "egreedy", CHAMPION)
    with pytest.raises(AlreadyExistsError, match="'a' already exists"):
        store.policies.add("a", "thompson")
    with pytest.raises(InvalidRecordError, match="policy name 'no good'"):
        store.policies.add("no good", "uniform")
    with pytest.raises(InvalidRecordError, match="role 'boss'"):
        store.policies.add("c", "uniform", "boss")
    store.policies.make_champion("a", "uniform", former=("vw-igw", "vw:igw"))
    roles = {p.name: p.role for p in store.policies.list()}
    assert roles == {"a": CHAMPION, "b": SHADOW}  # the former was recorded: it is b here
    store.policies.make_champion("c", "thompson", former=("a", "uniform"))
    assert [p.name for p in store.policies.list()] == ["c", "a", "b"]


def test_policy_add_and_list_on_the_command_line(data_dir, capsys):
    base = ["--data-dir", str(data_dir)]
    assert main([*base, "policy", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"name": "vw-igw", "spec": "vw:igw", "role": "champion", "created": None,
                     "updated": None, "recorded": False}]
    assert main([*base, "policy", "add", CHALLENGER, CHALLENGER_SPEC]) == 0
    assert CHALLENGER in capsys.readouterr().out
    assert main([*base, "policy", "add", "x", "nosuch:1"]) != 0
    assert "unknown policy 'nosuch'" in capsys.readouterr().err
    assert main([*base, "policy", "add", "vw-igw", "uniform"]) != 0
    assert "name of the configured policy" in capsys.readouterr().err
    # A model file is for replay; a served policy learns and keeps its own snapshots.
    assert main([*base, "policy", "add", "fixed", "vw:igw,model=/somewhere/vw.snapshot"]) != 0
    err = capsys.readouterr().err
    assert "for offline evaluation (replay)" in err and len(err.strip().splitlines()) == 1
    assert main([*base, "policy", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:2] == ["vw-igw", "champion"] and out[2].split()[:2] == [CHALLENGER, "shadow"]


def _title(store: Store, jpeg_bytes, title: str, n: int, seed: int = 0) -> list[str]:
    store.add_title(title, title.upper(), ["drama"])
    return [a.id for a in store.add_artworks(
        [{"title_id": title, "data": jpeg_bytes(seed * 100 + i), "status": "live"}
         for i in range(n)])]


def test_each_decision_logs_the_shadow_challengers_pmf(data_dir, jpeg_bytes):
    store = Store.open(data_dir)
    ids = _title(store, jpeg_bytes, "t1", 3)
    store.policies.add(CHALLENGER, CHALLENGER_SPEC)
    store.close_all()
    app = create_app(app_settings(data_dir))
    try:
        client = app.test_client()
        events = [client.get("/artwork", query_string={"user": f"u{i}", "title": "t1"}).json
                  for i in range(30)]
        svc = app.extensions["artbandit"]
        assert [p.name for p in svc.lineup.shadows()] == [CHALLENGER]
        svc.store.ingest_journal()
        for e in events:
            d = svc.store.get_decision(e["event_id"])
            assert d.policy == "vw-igw" and set(d.shadow) == {CHALLENGER}
            assert len(d.shadow[CHALLENGER]) == len(ids)
            assert math.isclose(sum(d.shadow[CHALLENGER]), 1.0, abs_tol=1e-9)
        # Offline, the challenger's own pmfs are its target on those decisions.
        with pytest.raises(NoEvidenceError, match="no logged decision with a pmf of 'nobody'"):
            policy_log(svc.store, ["nobody"], window=0.0, reward_of=RewardMapping(),
                       now=time.time() + 1)
        logged = policy_log(svc.store, [CHALLENGER, "vw-igw"], window=0.0,
                            reward_of=RewardMapping(), now=time.time() + 1)
        assert logged.log.n_rounds == 30
        for i, d in enumerate(logged.decisions):
            names = logged.log.candidate_names(i)
            assert list(logged.target(CHALLENGER)[i, :len(names)]) == [
                d.shadow[CHALLENGER][d.candidates.index(c)] for c in names]
            assert np.allclose(logged.target("vw-igw")[i], logged.log.pmf[i])
    finally:
        app.extensions["artbandit"].close()


def test_workers_log_shadow_pmfs_and_the_learner_process_learns_every_policy(
        data_dir, jpeg_bytes, capsys, monkeypatch):
    store = Store.open(data_dir)
    _title(store, jpeg_bytes, "t1", 3)
    store.policies.add(CHALLENGER, CHALLENGER_SPEC)
    store.close_all()
    app = create_app(app_settings(data_dir, learn=False))  # a worker: it only serves
    try:
        client = app.test_client()
        events = [client.get("/artwork", query_string={"user": f"u{i}", "title": "t1"}).json
                  for i in range(20)]
        for e in events[::2]:
            client.post("/feedback", json={"events": [{"event_id": e["event_id"], "kind": "play"}]})
        assert app.extensions["artbandit"].lineup.part(CHALLENGER).model_version == 0
    finally:
        app.extensions["artbandit"].close()
    time.sleep(0.3)
    monkeypatch.setenv("ARTBANDIT_REWARD_WINDOW", "0.2")
    assert main(["--data-dir", str(data_dir), "learn", "--rounds", "2"]) == 0
    capsys.readouterr()
    store = Store.open(data_dir)
    try:
        assert all(set(d.shadow) == {CHALLENGER} for d in store.decisions())
    finally:
        store.close_all()
    for name in ("vw-igw", CHALLENGER):  # each named policy's own snapshots
        assert list((data_dir / "models").glob(f"{name}-*.snapshot")), name


# The shadow coverage run: seeded worlds, each served by a real server; feedback is sent
# every few requests, well inside the reward window even on a busy machine.
REPS, REQUESTS, FEEDBACK_EVERY, WINDOW = 20, 800, 10, 5.0
# The champion does not learn during a run, so it serves its initial (uniform) pmf throughout:
# the shadow must differ from it from the first decision for the estimate to be off-policy,
# hence a fixed policy that favours each title's first artwork.
FIXED_SHADOW, SHADOW_SPEC = "default-shadow", "default:0.4"


def _serve_world(data_dir, jpeg_bytes, seed: int) -> tuple[float, float, float]:
    """Serve one seeded world with a shadow challenger; (its SNIPS low, high, the truth)."""
    world = World(WorldConfig(n_users=400, n_titles=3, artworks_per_title=4, seed=seed))
    store = Store.open(data_dir)
    index = {}  # store artwork id -> (world title, world artwork)
    for t in range(3):
        for a, art in enumerate(_title(store, jpeg_bytes, world.title_id(t), 4, seed * 10 + t)):
            index[art] = a
    store.policies.add(FIXED_SHADOW, SHADOW_SPEC)
    store.close_all()
    rng, noise = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    takes: dict[str, np.ndarray] = {}
    # Every artwork keeps a tenth of the traffic: importance weights stay bounded (at most
    # 1 / 0.1), as the normal interval of the estimate needs.
    # No learner: the champion keeps its initial pmf however long a busy machine makes the run.
    server = LiveServer(data_dir, env={"reward_window": WINDOW, "catalog_ttl": 2.0,
                                       "floor": 0.1, "floor_min": 0.1, "learn": "false"})
    try:
        session, feedback = requests.Session(), []
        for i in range(REQUESTS):
            imp = world.impression(rng)
            f = imp.context.features
            body = session.get(f"{server.url}/artwork", params={
                "user": imp.context.user_id, "title": imp.context.title_id,
                "device": f["device"], "country": f["country"], "hour": str(f["hour"])},
                timeout=10).json()
            takes[body["event_id"]] = world.take_probabilities(imp)
            feedback += [{"event_id": body["event_id"], "kind": kind}
                         for kind in world.feedback(imp, index[body["artwork_id"]], noise)]
            if len(feedback) >= FEEDBACK_EVERY or i == REQUESTS - 1:
                r = session.post(f"{server.url}/feedback", json={"events": feedback}, timeout=10)
                assert r.status_code == 202, r.text
                feedback = []
    finally:
        server.stop()
    store = Store.open(data_dir)
    try:
        logged = policy_log(store, [FIXED_SHADOW], window=WINDOW, reward_of=RewardMapping(),
                            now=time.time() + 10)
    finally:
        store.close_all()
    assert logged.log.n_rounds == REQUESTS
    assert all(max(d.shadow[FIXED_SHADOW]) > 1.5 * max(d.pmf) for d in logged.decisions)  # off-policy
    truth = np.mean([sum(d.shadow[FIXED_SHADOW][k] * takes[d.event_id][index[c]]
                         for k, c in enumerate(d.candidates)) for d in logged.decisions])
    est = SelfNormalizedIPS().estimate(logged.log, logged.target(FIXED_SHADOW))
    return est.ci_low, est.ci_high, float(truth)


@pytest.mark.slow
def test_a_shadow_challengers_logged_pmfs_estimate_its_value_within_the_interval(
        tmp_path, jpeg_bytes):
    results = [_serve_world(tmp_path / f"rep{seed}", jpeg_bytes, seed) for seed in range(REPS)]
    covered = [low <= truth <= high for low, high, truth in results]
    assert sum(covered) >= 0.9 * REPS, results
