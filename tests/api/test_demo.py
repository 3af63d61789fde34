"""`artbandit demo` in a reduced size: the whole product end to end, with nothing left running."""
from __future__ import annotations

import json
import subprocess

import psycopg
import pytest

from api.cli import main


def test_demo_runs_end_to_end_and_cleans_up(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--decisions", "1500", "--users", "100", "--seed", "3"])
    text = capsys.readouterr().out
    assert code == 0, text
    for line in ("learned policy (served)", "uniform random", "default artwork", "oracle",
                 "Offline replay", "ips", "snips", "dr", f"Everything is in {out}"):
        assert line in text, line
    summary = json.loads((out / "summary.json").read_text())
    online = summary["online_second_half"]
    assert 0 < online["uniform"] <= online["oracle"] and online["served"] <= online["oracle"]
    # the learned policy beats both baselines, measured with the world's exact probabilities
    assert online["served"] > online["uniform"] and online["served"] > online["default"]
    assert summary["decisions"] == 1500 and summary["model_version"] >= 1
    assert len(summary["titles"]) == 4 and summary["artworks"] >= 12
    assert (out / "learning_curve.png").stat().st_size > 10_000
    assert (out / "offline_estimates.png").stat().st_size > 10_000
    assert (out / "data" / "reports" / "demo-replay").is_dir()
    # the data directory remembers the demo's settings, so later commands on it agree
    assert "reward_window = 0.5" in (out / "data" / "artbandit.toml").read_text()
    logged = {r["policy"]: r for r in summary["offline"] if r["estimator"] == "ips"}
    assert logged["logged"]["ci_low"] <= logged["logged"]["estimate"] <= logged["logged"]["ci_high"]
    # the server it started is gone
    left = subprocess.run(["pgrep", "-f", str(out / "data")], capture_output=True, text=True)
    assert left.stdout.strip() == "", f"processes left behind: {left.stdout}"


@pytest.mark.slow
def test_demo_runs_end_to_end_on_postgres(tmp_path, capsys, postgres_url):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--decisions", "1000", "--users", "100", "--seed", "3",
                 "--database-url", postgres_url])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "Offline replay" in text and f"Everything is in {out}" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_version"] >= 1 and len(summary["titles"]) == 4
    assert not (out / "data" / "artbandit.db").exists()  # nothing went to SQLite
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM decisions").fetchone()[0] >= 1000
        assert conn.execute("SELECT count(*) FROM snapshots").fetchone()[0] >= 1
        missing = conn.execute("SELECT count(*) FROM artworks a WHERE NOT EXISTS "
                               "(SELECT 1 FROM images i WHERE i.path = a.path)").fetchone()[0]
        assert missing == 0  # every artwork's image is in the database
    # a second run refuses a database that already holds a catalog, saying so
    assert main(["demo", "--out", str(out), "--database-url", postgres_url]) == 2
    assert "already holds a catalog" in capsys.readouterr().err
