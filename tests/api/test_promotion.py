"""`artbandit promote`: a paired offline comparison on the logs of the synthetic world decides;
every outcome is audited; a real server switches champion without a restart or a lost decision."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import requests

from api.cli import main
from api.runtime.promotion import OVERRIDDEN, PROMOTED, REFUSED, paired_snips
from api.web.app import create_app
from artwork.store import Store
from simulator.policy_logs import policy_log
from artwork.reward_mapping import RewardMapping
from simulator.world import World, WorldConfig
from tests.api.conftest import LiveServer, app_settings

WINDOW = 0.3
SERVED = 3000


def _catalog(data_dir, jpeg_bytes, world: World) -> dict[str, int]:
    """The world's titles and artworks in a fresh store; store artwork id -> world index."""
    store = Store.open(data_dir)
    index = {}
    for t in range(world.config.n_titles):
        store.add_title(world.title_id(t), f"Title {t}", ["drama"])
        arts = store.add_artworks([{"title_id": world.title_id(t), "data": jpeg_bytes(t * 10 + a),
                                    "status": "live"} for a in range(world.config.artworks_per_title)])
        index.update({art.id: a for a, art in enumerate(arts)})
    store.policies.add("vw", "vw:igw")
    store.policies.add("twin", "uniform")
    store.close_all()
    return index


@pytest.fixture(scope="module")
def served_log(tmp_path_factory):
    """A uniform champion with two challengers in shadow, served the synthetic world in process."""
    from tests.conftest import encode_image, make_image

    data_dir = tmp_path_factory.mktemp("promotion") / "data"
    world = World(WorldConfig(n_users=300, n_titles=3, artworks_per_title=4, seed=3))
    index = _catalog(data_dir, lambda s: encode_image(make_image(s)), world)
    app = create_app(app_settings(data_dir, policy="uniform", reward_window=WINDOW))
    rng, noise = np.random.default_rng(1), np.random.default_rng(2)
    try:
        client, feedback = app.test_client(), []
        for i in range(SERVED):
            imp = world.impression(rng)
            f = imp.context.features
            body = client.get("/artwork", query_string={
                "user": imp.context.user_id, "title": imp.context.title_id, "device": f["device"],
                "country": f["country"], "hour": str(f["hour"])}).json
            feedback += [{"event_id": body["event_id"], "kind": k}
                         for k in world.feedback(imp, index[body["artwork_id"]], noise)]
            if i % 5 == 4:
                assert client.post("/feedback", json={"events": feedback}).status_code == 202
                feedback = []
    finally:
        app.extensions["artbandit"].close()
    time.sleep(WINDOW)
    return data_dir


@pytest.fixture
def cli_env(monkeypatch):
    monkeypatch.setenv("ARTBANDIT_POLICY", "uniform")
    monkeypatch.setenv("ARTBANDIT_REWARD_WINDOW", str(WINDOW))


@pytest.mark.slow
def test_the_paired_difference_of_a_policy_with_itself_is_exactly_zero(served_log):
    store = Store.open(served_log)
    logged = policy_log(store, ["vw", "uniform"], window=WINDOW, reward_of=RewardMapping())
    store.close_all()
    value_c, value_0, diff, half = paired_snips(logged.log, logged.target("vw"),
                                                logged.target("uniform"), 0.95)
    assert diff == pytest.approx(value_c - value_0) and half > 0
    same = paired_snips(logged.log, logged.target("uniform"), logged.target("uniform"), 0.95)
    assert same[2] == 0 and same[3] == pytest.approx(0, abs=1e-12)


@pytest.mark.slow
def test_promote_refuses_a_challenger_not_shown_better_and_promotes_a_better_one(
        served_log, cli_env, capsys):
    base = ["--data-dir", str(served_log)]
    assert main([*base, "promote", "twin"]) == 1
    out, err = capsys.readouterr()
    assert "twin" in out and "interval" in out and "refused" in err
    assert main([*base, "promote", "vw"]) == 0
    assert "vw is the champion now" in capsys.readouterr().out
    assert main([*base, "policy", "list", "--json"]) == 0
    roles = {p["name"]: p["role"] for p in __import__("json").loads(capsys.readouterr().out)}
    assert roles == {"vw": "champion", "twin": "shadow", "uniform": "shadow"}
    # A worse challenger is refused; forced against the evidence, it is promoted, recorded so.
    assert main([*base, "promote", "twin"]) == 1
    assert main([*base, "promote", "twin", "--force"]) == 0
    store = Store.open(served_log)
    entries = [e for e in store.audit.entries() if e.action.startswith("promote")]
    store.close_all()
    assert [e.action for e in entries] == [REFUSED, PROMOTED, REFUSED, OVERRIDDEN]
    refused, promoted, worse, forced = (e.detail for e in entries)
    assert refused["evidence"]["ci_low"] <= 0 < promoted["evidence"]["ci_low"]
    assert worse["evidence"]["ci_high"] < 0 and not worse["forced"]
    assert promoted["evidence"]["champion"] == "uniform" and promoted["evidence"]["n_rounds"] == SERVED
    assert forced["forced"] and forced["evidence"]["champion"] == "vw"
    assert all(e.actor.startswith("cli:") for e in entries)


def test_promote_says_what_is_wrong(data_dir, jpeg_bytes, cli_env, capsys):
    _catalog(data_dir, jpeg_bytes, World(WorldConfig(n_users=5, n_titles=1, seed=1)))
    base = ["--data-dir", str(data_dir)]
    assert main([*base, "promote", "nobody"]) != 0
    assert "no policy named 'nobody'" in capsys.readouterr().err
    assert main([*base, "promote", "uniform"]) != 0
    assert "'uniform' is already the champion" in capsys.readouterr().err
    assert main([*base, "promote", "vw"]) != 0  # nothing served yet: no evidence
    assert "no logged decision with a pmf of 'vw', 'uniform'" in capsys.readouterr().err
    store = Store.open(data_dir)
    assert store.audit.entries() and not [e for e in store.audit.entries()
                                          if e.action.startswith("promote")]
    store.close_all()


@pytest.mark.slow
def test_a_server_switches_champion_without_a_restart_or_a_lost_decision(data_dir, jpeg_bytes):
    from api.runtime.promotion import promote

    world = World(WorldConfig(n_users=50, n_titles=2, artworks_per_title=3, seed=3))
    _catalog(data_dir, jpeg_bytes, world)
    server = LiveServer(data_dir, env={"policy": "uniform", "reload_interval": 0.2})
    answers: list[dict] = []
    stop = threading.Event()

    def serve() -> None:
        session = requests.Session()
        while not stop.is_set():
            r = session.get(f"{server.url}/artwork", params={"user": "u1", "title": "t000"},
                            timeout=10)
            answers.append({"status": r.status_code, **r.json()})

    client = threading.Thread(target=serve)
    try:
        client.start()
        time.sleep(1.0)
        store = Store.open(data_dir)
        outcome = promote(store, "vw", "uniform", window=WINDOW, reward_of=RewardMapping(),
                          force=True)
        store.close_all()
        assert outcome.action == OVERRIDDEN
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not answers or answers[-1]["policy"] != "vw"):
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        client.join(30)
        server.stop()
    assert all(a["status"] == 200 for a in answers)
    policies = [a["policy"] for a in answers]
    switch = policies.index("vw")
    assert set(policies[:switch]) == {"uniform"} and set(policies[switch:]) == {"vw"}
    store = Store.open(data_dir)
    try:
        logged = {d.event_id: d for d in store.decisions()}
    finally:
        store.close_all()
    assert all(a["event_id"] in logged and logged[a["event_id"]].policy == a["policy"]
               for a in answers)
