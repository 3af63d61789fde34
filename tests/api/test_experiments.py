"""Experiments: sticky salted-hash arms, the always-valid confidence sequence under daily
peeking on the synthetic world, and `artbandit experiment` against a serving app."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from api.cli import main
from api.runtime.experiments import EXPERIMENT_CS
from api.web.app import create_app
from artwork.errors import AlreadyExistsError, InvalidRecordError
from artwork.experiments import Experiment
from artwork.store import Store
from simulator.confidence_sequences import user_contrasts
from simulator.world import World, WorldConfig
from tests.api.conftest import AUTH, app_settings

DAYS, PER_DAY, REPS = 30, 400, 200


@pytest.fixture(scope="module")
def traffic():
    """A month of the synthetic world's impressions: user ids, and per impression the take
    rate of a uniform choice and of the title's best artwork for everyone (which is better)."""
    world = World(WorldConfig(n_users=5000, n_titles=10, artworks_per_title=5, seed=11))
    rng = np.random.default_rng(0)
    users, uniform, best = [], [], []
    for _ in range(DAYS * PER_DAY):
        imp = world.impression(rng)
        q = world.take_probabilities(imp)
        users.append(imp.context.user_id)
        uniform.append(q.mean())
        best.append(q[world.best_nonpersonalized(imp.title)])
    return np.array(users), np.array(uniform), np.array(best)



def _run(traffic, seed: int, planted: bool) -> tuple[np.ndarray, np.ndarray]:
    """One experiment (50/50, a fresh salt) over the month: the interval at each day's end."""
    users, uniform, best = traffic
    exp = Experiment("e", f"salt{seed}", (("a", 50.0), ("b", 50.0)), 0.0)
    names, codes = np.unique(users, return_inverse=True)
    in_b = np.array([exp.arm_for(u) == "b" for u in names])[codes]
    rate = np.where(in_b & planted, best, uniform)
    reward = (np.random.default_rng(seed).random(len(users)) < rate).astype(float)
    lows, highs = [], []
    for day in range(1, DAYS + 1):  # what `experiment status` would say that evening
        seen = day * PER_DAY
        psi = user_contrasts(codes[:seen], in_b[:seen], reward[:seen], 0.5, 0.5)
        path = EXPERIMENT_CS.path(psi, [len(psi)])
        lows.append(path.low[-1])
        highs.append(path.high[-1])
    return np.array(lows), np.array(highs)


def test_arms_are_sticky_per_user_fresh_per_experiment_and_follow_the_shares():
    exp = Experiment("e", "s1", (("a", 20.0), ("b", 80.0)), 0.0)
    users = [f"u{i}" for i in range(20_000)]
    arms = [exp.arm_for(u) for u in users]
    assert arms == [exp.arm_for(u) for u in users]  # the same user, the same arm
    assert abs(arms.count("a") / len(users) - 0.2) < 0.015
    other = Experiment("f", "s2", exp.arms, 0.0)
    assert sum(a != other.arm_for(u) for a, u in zip(arms, users)) > 5000


@pytest.mark.slow
def test_identical_arms_peeked_daily_declare_a_difference_in_at_most_5_percent(traffic):
    false_alarms = 0
    for seed in range(REPS):
        low, high = _run(traffic, seed, planted=False)
        false_alarms += bool(((low > 0) | (high < 0)).any())
    assert false_alarms <= 0.05 * REPS, false_alarms


def test_a_planted_difference_separates(traffic):
    users, uniform, best = traffic
    assert best.mean() > uniform.mean() + 0.02  # the world makes arm b truly better
    for seed in range(10):
        low, high = _run(traffic, 1000 + seed, planted=True)
        assert low[-1] > 0, (seed, low[-1], high[-1])


def test_the_registry_refuses_bad_arms_and_a_second_running_experiment(store):
    with pytest.raises(InvalidRecordError, match="at least two arms"):
        store.experiments.start("e", {"a": 100})
    with pytest.raises(InvalidRecordError, match="sum to 100"):
        store.experiments.start("e", {"a": 50, "b": 40})
    store.experiments.start("e", {"a": 50, "b": 50})
    with pytest.raises(AlreadyExistsError, match="'e' is running"):
        store.experiments.start("f", {"a": 50, "b": 50})


def test_an_experiment_on_a_serving_app_from_start_to_stop(data_dir, jpeg_bytes, capsys,
                                                           monkeypatch):
    store = Store.open(data_dir)
    store.add_title("t1", "One", ["drama"])
    store.add_artworks([{"title_id": "t1", "data": jpeg_bytes(i), "status": "live"}
                        for i in range(3)])
    store.policies.add("twin", "uniform")
    store.close_all()
    monkeypatch.setenv("ARTBANDIT_REWARD_WINDOW", "0.2")
    base = ["--data-dir", str(data_dir)]
    assert main([*base, "experiment", "start", "x", "--arm", "vw-igw=50",
                 "--arm", "nobody=50"]) != 0
    assert "no policy named 'nobody'" in capsys.readouterr().err
    assert main([*base, "experiment", "start", "x", "--arm", "vw-igw=50", "--arm", "twin"]) != 0
    assert "POLICY=PERCENT" in capsys.readouterr().err
    assert main([*base, "experiment", "start", "x", "--arm", "vw-igw=50",
                 "--arm", "twin=50"]) == 0
    capsys.readouterr()
    app = create_app(app_settings(data_dir, reward_window=0.2))
    try:
        client = app.test_client()
        served: dict[str, set] = {}
        for i in range(300):
            body = client.get("/artwork", query_string={"user": f"u{i % 40}", "title": "t1"}).json
            served.setdefault(body["user"], set()).add(body["policy"])
            client.post("/feedback", json={"events": [{"event_id": body["event_id"],
                                                       "kind": "play"}]})
        assert all(len(p) == 1 for p in served.values())  # sticky: one arm per user
        assert {p for ps in served.values() for p in ps} == {"vw-igw", "twin"}
        time.sleep(0.3)
        assert main([*base, "experiment", "status", "x", "--json"]) == 0
        stats = json.loads(capsys.readouterr().out)
        assert stats["running"] and sum(a["decisions"] for a in stats["arms"]) == 300
        assert all(a["take_rate"] == 1.0 for a in stats["arms"])  # every decision was played
        over_http = client.get("/stats/experiments/x", headers=AUTH)
        assert over_http.status_code == 200
        assert [a["decisions"] for a in over_http.json["arms"]] == [
            a["decisions"] for a in stats["arms"]]
        assert over_http.json["differences"][0]["users"] == 40
        assert client.get("/stats/experiments/x").status_code == 401
        assert client.get("/stats/experiments/nope", headers=AUTH).status_code == 404
        assert main([*base, "experiment", "stop", "x"]) == 0
        assert "twin" in capsys.readouterr().out
        svc = app.extensions["artbandit"]
        svc.lineup.refresh()
        body = client.get("/artwork", query_string={"user": "u1", "title": "t1"}).json
        assert body["policy"] == "vw-igw"  # stopped: the champion serves everyone again
    finally:
        app.extensions["artbandit"].close()
    store = Store.open(data_dir)
    try:
        exp = store.experiments.get("x")
        assert not exp.running and exp.result["arms"][1]["arm"] == "twin"
        # While the experiment ran, a decision served by an arm also logged the champion's pmf.
        twin = [d for d in store.decisions() if d.policy == "twin"]
        assert twin and all("vw-igw" in d.shadow for d in twin)
    finally:
        store.close_all()
