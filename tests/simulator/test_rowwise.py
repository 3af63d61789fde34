"""Per-row work on (rows, candidates) matrices: the reductions against numpy's own, and a pmf
kept once per distinct row against the same pmf as a dense array in every estimator."""
from __future__ import annotations

import numpy as np
import pytest

from bandit.baselines import UniformPolicy
from simulator.errors import InvalidEstimatorError
from simulator.estimators import make_estimator
from simulator.evaluation import policy_pmf, policy_row_pmf
from simulator.logs import LoggedFeedback
from simulator.reward_model import RewardModel
from simulator.rowwise import RowPmf, first_true, row_sums


@pytest.mark.parametrize("width", [0, 1, 3, 12])
def test_first_true_is_argmax_and_any(width):
    rng = np.random.default_rng(width)
    mask = rng.random((2_000, width)) < 0.3  # rows with none, one and several True
    column, found = first_true(mask)
    assert (found == mask.any(axis=1)).all()
    assert (column == (mask.argmax(axis=1) if width else 0)).all()
    assert column.dtype == np.int64


def test_row_sums_is_sum():
    x = np.random.default_rng(1).random((1_000, 7))
    assert np.allclose(row_sums(x), x.sum(axis=1), rtol=0, atol=1e-12)
    assert row_sums(np.zeros((3, 0))).tolist() == [0.0, 0.0, 0.0]


def test_row_pmf_is_its_dense_array():
    pmf = RowPmf(np.array([[0.5, 0.5], [1.0, 0.0]]), rows=np.array([0, 2]), index=np.array([0, 0, 1]))
    assert pmf.shape == (3, 2)
    assert np.asarray(pmf).tolist() == [[0.5, 0.5], [0.5, 0.5], [1.0, 0.0]]
    assert pmf.at(np.array([1, 0, 1])).tolist() == [0.5, 0.5, 0.0]


@pytest.fixture
def padded_log() -> LoggedFeedback:
    """Two titles' candidate lists (one shorter, so padded), repeated over rows; a logged pmf with a 0."""
    rng = np.random.default_rng(3)
    n = 400
    title = rng.integers(0, 2, n)
    candidates = np.where(title[:, None] == 0, [[0, 1, 2]], [[3, 4, -1]])
    pmf = np.where(title[:, None] == 0, [[0.6, 0.4, 0.0]], [[0.5, 0.5, 0.0]])
    action = (rng.random(n) < np.where(title == 0, 0.4, 0.5)).astype(np.int64)
    return LoggedFeedback(action=action, reward=(rng.random(n) < 0.3).astype(float),
                          pscore=pmf[np.arange(n), action], candidates=candidates,
                          action_names=("a", "b", "c", "d", "e"), pmf=pmf,
                          context=np.array(['{"features": {}}'] * n, dtype=object))


@pytest.mark.parametrize("name", ["ips", "snips", "dr", "sndr", "switch-dr", "dros"])
def test_estimators_give_the_same_from_a_row_pmf(padded_log, name):
    kept = policy_row_pmf(UniformPolicy(), padded_log)
    assert kept.distinct.shape == (2, 3)  # one pmf per title's list, not one per row
    dense = policy_pmf(UniformPolicy(), padded_log)
    predicted = RewardModel().fit(padded_log) if name not in ("ips", "snips") else None
    est = make_estimator(name)
    a, b = est.statistics(padded_log, kept, predicted), est.statistics(padded_log, dense, predicted)
    assert a.names == b.names and a.n == b.n and a.counts == b.counts
    assert np.allclose(a.sums, b.sums, rtol=1e-12) and np.allclose(a.products, b.products, rtol=1e-12)
    assert a.sums[a.names.index("unsupported")] > 0  # the uniform policy puts mass on the pmf's 0


def test_a_bad_row_pmf_names_the_log_row(padded_log):
    kept = policy_row_pmf(UniformPolicy(), padded_log)
    short = int(np.flatnonzero(padded_log.candidates[kept.rows][:, -1] < 0)[0])  # the list with a pad
    full = 1 - short
    on_pad = kept.distinct.copy()
    on_pad[short] = [0.2, 0.2, 0.6]
    with pytest.raises(InvalidEstimatorError, match=f"row {int(kept.rows[short]) + 1} puts mass past the candidates"):
        make_estimator("ips").statistics(padded_log, RowPmf(on_pad, kept.rows, kept.index))
    unsummed = kept.distinct.copy()
    unsummed[full] = [0.5, 0.4, 0.0]
    with pytest.raises(InvalidEstimatorError, match=f"row {int(kept.rows[full]) + 1} sums to 0.9"):
        make_estimator("snips").statistics(padded_log, RowPmf(unsummed, kept.rows, kept.index))
