"""Evaluated policies on a log: fixed pmfs, learning replay, external probability files."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from bandit.baselines import DefaultArtworkPolicy, EpsilonGreedyPolicy, UniformPolicy
from simulator.errors import ExternalPolicyError, InvalidLogError
from simulator.estimators import IPS, Replay, SelfNormalizedIPS
from simulator.evaluation import evaluate_policies, external_pmf, policy_pmf, replay_learning
from simulator.specs import parse_policy_specs


def test_fixed_policy_pmf_matches_the_policy_row_by_row(world_log):
    log = world_log.log
    policy = DefaultArtworkPolicy(epsilon=0.2)
    pmf = policy_pmf(policy, log, world_log.catalog)
    for row in (0, 17, 2999):
        expected = policy.pmf(log.bandit_context(row), log.bandit_actions(row, world_log.catalog))
        np.testing.assert_array_equal(pmf[row, : len(expected)], expected)
    default_slot = [next(i for i, a in enumerate(log.bandit_actions(r, world_log.catalog)) if a.is_default)
                    for r in range(5)]
    assert pmf[np.arange(5), default_slot].min() > 0.8


def test_learning_replay_learns_only_on_matched_events(world_log):
    log = world_log.log
    policy = EpsilonGreedyPolicy(epsilon=0.1, seed=2)
    run = replay_learning(policy, log, world_log.catalog)
    learned = sum(n for title in policy._counts.values() for n, _ in title.values())
    assert learned == run.matched.sum() > 0
    assert np.allclose(run.target_pmf.sum(axis=1), 1.0)
    assert run.curve.rounds[-1] == log.n_rounds and np.isfinite(run.curve.value[-1])
    assert abs(run.curve.value[-1] - Replay().from_matches(log, run.matched).value) < 1e-12


def test_evaluate_policies_runs_every_estimator(world_log):
    specs = parse_policy_specs(["uniform", "egreedy:0.1", "logged"])
    results = evaluate_policies(world_log.log, specs, [Replay(), IPS(), SelfNormalizedIPS()],
                                catalog=world_log.catalog)
    assert [r.policy for r in results] == ["uniform", "egreedy:0.1", "logged"]
    assert [r.learning for r in results] == [False, True, False]
    assert results[2].estimates[1].value == world_log.log.reward.mean()
    assert results[1].curve is not None and results[0].curve is None


def _write_probs(path, rows, header=("event_id", "action", "probability")):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_external_file_policy_gives_the_written_pmf(tmp_path, world_log):
    log = world_log.log.take(np.arange(20))
    uniform = policy_pmf(UniformPolicy(floor=0.0), log)
    rows = []
    for i in range(log.n_rounds):
        names = log.candidate_names(i)
        rows.append([log.event_id[i], names[0], 0.75])
        rows += [[log.event_id[i], n, 0.25 / (len(names) - 1)] for n in names[1:]]
    pmf = external_pmf(_write_probs(tmp_path / "probs.csv", rows), log)
    assert pmf[:, 0].tolist() == [0.75] * 20 and np.allclose(pmf.sum(axis=1), 1.0)
    by_row = [[r + 1, n, 1 / len(log.candidate_names(r))] for r in range(20) for n in log.candidate_names(r)]
    path = _write_probs(tmp_path / "rows.csv", by_row, ("row", "action", "probability"))
    np.testing.assert_allclose(external_pmf(path, log), uniform, atol=1e-15)


@pytest.mark.parametrize("mutate, message", [
    (lambda rows: rows[:-1], "log row 6 .* probabilities sum to"),
    (lambda rows: rows + [["nope", rows[0][1], 0.1]], "row 31: event_id 'nope' is not in the log"),
    (lambda rows: [[rows[0][0], "ghost", 1.0]] + rows[1:], "row 1: artwork 'ghost' is not a candidate of log row 1"),
    (lambda rows: [[rows[0][0], rows[0][1], 1.5]] + rows[1:], "row 1: probability 1.5 is outside"),
    (lambda rows: rows + [rows[0]], "given twice"),
])
def test_external_file_errors(tmp_path, world_log, mutate, message):
    log = world_log.log.take(np.arange(6))
    rows = [[log.event_id[i], n, 1 / len(log.candidate_names(i))] for i in range(6) for n in log.candidate_names(i)]
    assert len(rows) == 30
    with pytest.raises(ExternalPolicyError, match=message):
        external_pmf(_write_probs(tmp_path / "p.csv", mutate(rows)), log)


def test_external_file_missing_or_wrong_columns(tmp_path, world_log):
    with pytest.raises(ExternalPolicyError, match="no such probability file"):
        external_pmf(tmp_path / "none.csv", world_log.log)
    path = _write_probs(tmp_path / "bad.csv", [[1, 2]], ("a", "b"))
    with pytest.raises(ExternalPolicyError, match="needs columns event_id \\(or row\\), action, probability"):
        external_pmf(path, world_log.log)


def test_logged_policy_needs_a_pmf(world_log):
    log = world_log.log
    from simulator.logs import LoggedFeedback
    bare = LoggedFeedback(action=log.action, reward=log.reward, pscore=log.pscore, candidates=log.candidates,
                          action_names=log.action_names)
    with pytest.raises(InvalidLogError, match="needs a log with a pmf column"):
        evaluate_policies(bare, parse_policy_specs(["logged"]), [IPS()])
