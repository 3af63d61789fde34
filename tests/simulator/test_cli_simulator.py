"""`artbandit simulate` and `artbandit replay` end to end through api.cli.main."""
from __future__ import annotations

import csv
import json

from api.cli import main
from simulator.log_files import write_log

from tests.simulator.conftest import write_export_csv


def test_replay_store_export_without_mapping(tmp_path, export_rows, capsys):
    path = write_export_csv(tmp_path / "export.csv", export_rows * 5)
    out = tmp_path / "report"
    code = main(["replay", str(path), "--policy", "uniform", "--policy", "egreedy:0.1", "--estimators",
                 "replay,ips,snips,dm,dr", "--out", str(out), "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "30 logged events" in text and "uniform" in text and "snips" in text
    data = json.loads((out / "report.json").read_text())
    assert {(r["policy"], r["estimator"]) for r in data["estimates"]} >= {("uniform", "ips"), ("egreedy:0.1", "dr")}
    assert (out / "estimates.png").exists() and (out / "learning_curves.png").exists()


def test_replay_world_log_parquet_as_json(tmp_path, world_log, capsys):
    path = write_log(world_log.log, tmp_path / "log.parquet")
    code = main(["replay", str(path), "--policy", "logged", "--estimators", "ips", "--json", "--out", str(tmp_path)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["estimates"][0]["value"] == world_log.log.reward.mean()


def test_replay_foreign_csv_with_mapping(tmp_path, capsys):
    path = tmp_path / "foreign.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["when", "arm", "click", "p", "ctx_device", "ctx_hour"])
        for i in range(200):
            w.writerow([i, "ABC"[i % 3], i % 2, 1 / 3, "tv" if i % 4 else "web", i % 24])
    code = main(["replay", str(path), "--action-col", "arm", "--reward-col", "click", "--propensity-col", "p",
                 "--context-cols", "ctx_*", "--time-col", "when", "--policy", "uniform", "--estimators",
                 "ips,snips", "--out", str(tmp_path / "o")])
    assert code == 0
    rows = json.loads((tmp_path / "o" / "report.json").read_text())["estimates"]
    assert abs(rows[0]["value"] - 0.5) < 1e-12  # uniform over the three arms seen = uniform logging


def test_replay_malformed_log_exits_2_naming_column_and_row(tmp_path, export_rows, capsys):
    export_rows[4]["probability"] = 0
    path = write_export_csv(tmp_path / "bad.csv", export_rows)
    assert main(["replay", str(path), "--policy", "uniform", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("artbandit: error: column 'probability', row 5: propensity 0.0 is outside (0, 1]")


def test_replay_of_a_foreign_log_says_which_flag_maps_a_missing_column(tmp_path, capsys):
    path = tmp_path / "foreign.csv"
    path.write_text("arm,p\nA,0.5\n")
    assert main(["replay", str(path), "--action-col", "arm", "--propensity-col", "p",
                 "--policy", "uniform", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "column 'reward' (reward) not found in foreign.csv" in err
    assert err.rstrip().endswith("map the column with --reward-col NAME")


def test_replay_bad_spec_and_estimator_exit_2(tmp_path, export_rows, capsys):
    path = write_export_csv(tmp_path / "log.csv", export_rows)
    assert main(["replay", str(path), "--policy", "greedy", "--out", str(tmp_path)]) == 2
    assert "unknown policy 'greedy'" in capsys.readouterr().err
    assert main(["replay", str(path), "--policy", "uniform", "--estimators", "ips,magic", "--out", str(tmp_path)]) == 2
    assert "unknown estimator 'magic'" in capsys.readouterr().err


def test_simulate_writes_table_and_plots(tmp_path, capsys):
    out = tmp_path / "sim"
    code = main(["simulate", "--rounds", "300", "--policy", "uniform", "--policy", "egreedy:0.1", "--out", str(out)])
    assert code == 0
    assert "egreedy:0.1" in capsys.readouterr().out
    for name in ("summary.md", "summary.json", "take_rate.png", "regret.png"):
        assert (out / name).stat().st_size > 0
