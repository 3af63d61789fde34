"""Reports: tables in three forms and PNG plots written to a folder."""
from __future__ import annotations

import json

import cv2

from bandit.baselines import UniformPolicy
from simulator.estimator_base import Estimate
from simulator.estimators import IPS, Replay, SelfNormalizedIPS
from simulator.evaluation import PolicyEvaluation, evaluate_policies
from simulator.online import simulate
from simulator.plots import plot_estimates
from simulator.reports import (evaluation_rows, format_markdown, format_table, write_evaluation_report,
                               write_simulation_report)
from simulator.specs import parse_policy_specs

PNG = b"\x89PNG\r\n\x1a\n"


def test_evaluation_report(tmp_path, world_log):
    evals = evaluate_policies(world_log.log, parse_policy_specs(["uniform", "egreedy:0.1"]),
                              [Replay(), IPS(), SelfNormalizedIPS()], catalog=world_log.catalog)
    rows = evaluation_rows(evals)
    assert len(rows) == 6
    table = format_table(rows)
    assert table.splitlines()[0].split()[:3] == ["policy", "estimator", "value"]
    assert "egreedy:0.1" in table and "| uniform | ips |" in format_markdown(rows)
    paths = write_evaluation_report(tmp_path / "out", evals, {"log": "world.csv", "n_rounds": 3000})
    for key in ("estimates", "learning_curves"):
        assert paths[key].read_bytes().startswith(PNG)
    data = json.loads(paths["json"].read_text())
    assert data["meta"]["n_rounds"] == 3000 and {r["estimator"] for r in data["estimates"]} == {"replay", "ips", "snips"}
    assert "![estimates](estimates.png)" in paths["markdown"].read_text()


def test_simulation_report(tmp_path, small_world):
    result = simulate(small_world, {"uniform": UniformPolicy()}, 200, seed=1)
    paths = write_simulation_report(tmp_path, result, {"world_seed": 7})
    assert paths["take_rate"].read_bytes().startswith(PNG) and paths["regret"].read_bytes().startswith(PNG)
    data = json.loads(paths["json"].read_text())
    assert data["summary"][0]["policy"] == "uniform" and len(data["curves"]["rounds"]) == 200


def test_the_estimates_plot_takes_an_estimate_outside_its_interval(tmp_path):
    # DR may estimate below 0 while its interval is kept within the reward range [0, 1].
    outside = Estimate("DR", -0.02, 0.0, 0.05, 10.0, 100, 0.95, "normal")
    inside = Estimate("IPS", 0.03, 0.01, 0.06, 10.0, 100, 0.95, "normal")
    path = plot_estimates([PolicyEvaluation("uniform", False, (outside, inside))], tmp_path / "e.png")
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 100
