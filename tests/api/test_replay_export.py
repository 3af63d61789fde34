"""A log exported by the store replays through `artbandit replay` with no column mapping."""
from __future__ import annotations

import json

import numpy as np
import pytest

from api.cli import main
from artwork.records import LoggedDecision, Reward
from artwork.store import Store
from tests.conftest import log_decisions


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_store_export_replays_without_a_mapping(data_dir, tmp_path, capsys, suffix):
    store = Store.open(data_dir)
    store.add_title("t1", "One", ["drama"])
    rng = np.random.default_rng(0)
    arts = ("a1", "a2", "a3")
    plays = 0
    for i in range(300):
        chosen = int(rng.integers(3))
        log_decisions(store, [LoggedDecision(
            f"e{i:04d}", 100.0 + i, f"u{i % 20}", "t1",
            {"user_id": f"u{i % 20}", "title_id": "t1", "features": {"device": "tv"},
             "genre_affinity": {}, "title_genres": ["drama"]},
            arts, (1 / 3, 1 / 3, 1 / 3), arts[chosen], 1 / 3, "uniform", 0)])
        if rng.random() < (0.5 if chosen == 0 else 0.1):
            store.add_rewards([Reward(f"e{i:04d}", 101.0 + i, "play")])
            plays += 1
    out = tmp_path / f"log.{suffix}"
    assert main(["--data-dir", str(data_dir), "log", "export", str(out), "--window", "60"]) == 0
    capsys.readouterr()
    code = main(["replay", str(out), "--policy", "uniform", "--policy", "logged",
                 "--estimators", "ips,snips", "--json", "--out", str(tmp_path / "report")])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    rows = {(r["policy"], r["estimator"]): r for r in report["estimates"]}
    # the logging policy was uniform: IPS of uniform is exactly the logged mean reward
    assert rows[("uniform", "ips")]["value"] == pytest.approx(plays / 300, abs=1e-12)
    assert rows[("logged", "ips")]["value"] == pytest.approx(plays / 300, abs=1e-12)


def test_replay_with_the_store_knows_each_titles_default(data_dir, tmp_path, capsys, jpeg_bytes):
    store = Store.open(data_dir)
    store.add_title("t1", "One")
    arts = [store.add_artwork_image("t1", jpeg_bytes(i)).id for i in range(3)]
    store.set_default(arts[2])
    rewards = []
    for i in range(90):
        chosen = i % 3
        log_decisions(store, [LoggedDecision(
            f"e{i:04d}", 100.0 + i, "u", "t1", {"features": {}}, tuple(arts),
            (1 / 3, 1 / 3, 1 / 3), arts[chosen], 1 / 3, "uniform", 0)])
        if chosen == 2 and i % 2 == 0:
            store.add_rewards([Reward(f"e{i:04d}", 100.5 + i, "play")])
        rewards.append(1.0 if chosen == 2 and i % 2 == 0 else 0.0)
    out = tmp_path / "log.parquet"
    main(["--data-dir", str(data_dir), "log", "export", str(out), "--window", "60"])
    capsys.readouterr()
    main(["--data-dir", str(data_dir), "replay", str(out), "--policy", "default:0,floor=0",
          "--estimators", "ips", "--json", "--out", str(tmp_path / "report")])
    estimate = json.loads(capsys.readouterr().out)["estimates"][0]["value"]
    # default:0,floor=0 always shows artwork 2: IPS = mean(1[a = 2] * r / (1/3))
    expected = sum(3 * r for r in rewards) / 90
    assert estimate == pytest.approx(expected, abs=1e-12) and expected > 0
