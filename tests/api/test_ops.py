"""Health, statistics, metrics, the OpenAPI description and configuration."""
from __future__ import annotations

import re

import pytest

from api.web.app import create_app
from api.config import Config, load_config
from api.errors import ConfigError
from api.web.openapi import openapi_document
from tests.api.conftest import AUTH, add_artworks, app_settings


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["model_version"] == 0 and body["learning"] is True


def test_openapi_describes_every_route(app, client):
    doc = client.get("/openapi.json").get_json()
    assert doc == openapi_document()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/studio"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in doc["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in doc["paths"][path], (path, method)


def test_metrics_are_prometheus_text(client):
    client.get("/healthz")
    r = client.get("/metrics")
    assert r.mimetype == "text/plain"
    text = r.get_data(as_text=True)
    assert "# TYPE artbandit_request_seconds histogram" in text
    assert 'artbandit_request_seconds_bucket{endpoint="ops.healthz",le="0.001"}' in text
    assert "artbandit_model_version 0.0" in text
    assert "artbandit_journal_backlog_bytes 0.0" in text


def test_metrics_show_the_journal_backlog(data_dir, jpeg_bytes):
    # No in-process learner: it would ingest the backlog this test wants to see.
    app = create_app(app_settings(data_dir, learn=False))
    client = app.test_client()
    store = app.extensions["artbandit"].store
    store.decision_log.ingester.stop()  # and no background ingest either
    client.post("/titles", json={"id": "t1", "name": "One"}, headers=AUTH)
    art = add_artworks(app, "t1", [jpeg_bytes(1)])[0]
    client.patch(f"/artworks/{art}", json={"status": "live"}, headers=AUTH)
    for i in range(3):
        assert client.get(f"/artwork?user=u{i}&title=t1").status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    backlog = float(re.search(r"^artbandit_journal_backlog_bytes (\S+)$", text, re.M).group(1))
    assert backlog == store.decision_log.journal.size() > 0
    assert client.get("/stats?title=t1", headers=AUTH).get_json()["decisions"] == 3  # ingests
    assert "artbandit_journal_backlog_bytes 0.0" in client.get("/metrics").get_data(as_text=True)
    app.extensions["artbandit"].close()


def test_config_precedence(tmp_path):
    cfg = tmp_path / "artbandit.toml"
    cfg.write_text('[artbandit]\nfloor = 0.05\npolicy = "thompson"\nmax_titles = 10\n')
    env = {"ARTBANDIT_CONFIG": str(cfg), "ARTBANDIT_POLICY": "egreedy:0.1",
           "ARTBANDIT_LEARN": "false", "ARTBANDIT_REWARD_WEIGHTS": "play=1,click=0.2"}
    c = load_config(environ=env, overrides={"max_titles": 5})
    assert (c.floor, c.policy, c.learn, c.max_titles) == (0.05, "egreedy:0.1", False, 5)
    assert c.reward_weights == {"impression": 0.0, "click": 0.2, "play": 1.0}
    assert load_config(environ={}) == Config()


@pytest.mark.parametrize("env, message", [
    ({"ARTBANDIT_FLOOR": "lots"}, "ARTBANDIT_FLOOR"),
    ({"ARTBANDIT_FLOOR": "1.5"}, "floor must be in"),
    ({"ARTBANDIT_LEARN": "maybe"}, "ARTBANDIT_LEARN"),
    ({"ARTBANDIT_CONFIG": "/nonexistent.toml"}, "does not exist"),
    ({"ARTBANDIT_FLOOR": "0"}, "exploration never switches off"),
    ({"ARTBANDIT_REWARD_WEIGHTS": "plya=1"}, "reward_weights names plya"),
    ({"ARTBANDIT_CONTEXT_PARAMS": "device,user"}, "context_params"),
])
def test_bad_configuration_is_refused(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ=env)
