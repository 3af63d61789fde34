"""faiss near-duplicate removal and diversity-aware top-K selection."""
from __future__ import annotations

import numpy as np
import pytest

from vision.embed import l2_normalize
from vision.errors import InvalidParameterError
from vision.select import remove_near_duplicates, select_candidates, select_diverse


def _vectors(seed: int, n: int, dim: int = 16) -> np.ndarray:
    return l2_normalize(np.random.default_rng(seed).standard_normal((n, dim)))


def test_identical_and_near_identical_collapse_to_the_best_scoring():
    base = _vectors(0, 3)
    near = l2_normalize(base[0] + 0.01 * _vectors(1, 1)[0])
    e = np.vstack([base, base[1:2], near])  # rows 3 and 4 repeat rows 1 and 0
    scores = [0.5, 0.9, 0.4, 0.8, 0.7]
    sel = remove_near_duplicates(e, scores, threshold=0.98)
    assert sel.kept == (1, 4, 2)  # by score; row 4 beats row 0, row 1 beats row 3
    assert sel.duplicates == {3: 1, 0: 4}


def test_duplicates_of_existing_artworks_are_dropped():
    e = _vectors(2, 3)
    sel = remove_near_duplicates(e, [0.1, 0.2, 0.3], threshold=0.95, existing=[("art-1", e[1].copy())])
    assert sel.kept == (2, 0) and sel.duplicates == {1: "art-1"}


def test_diverse_selection_caps_each_shot_and_prefers_novelty():
    cluster = l2_normalize(np.tile(_vectors(3, 1), (4, 1)) + 0.05 * _vectors(4, 4))
    others = _vectors(5, 3)
    e = np.vstack([cluster, others])
    scores = [0.9, 0.89, 0.88, 0.87, 0.5, 0.45, 0.4]
    shots = [0, 0, 1, 1, 2, 3, 4]
    picked = select_diverse(e, scores, 4, shots=shots, per_shot=1, novelty=0.5)
    assert picked[0] == 0
    assert [shots[i] for i in picked].count(0) <= 1
    assert len(set(shots[i] for i in picked)) == 4
    greedy = select_diverse(e, scores, 4, novelty=0.0)
    assert greedy == [0, 1, 2, 3]  # without novelty it is plain top-K


def test_select_candidates_returns_original_rows():
    e = _vectors(6, 5)
    e = np.vstack([e, e[0:1]])
    sel = select_candidates(e, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3, threshold=0.95, shots=[0, 1, 2, 3, 4, 5])
    assert len(sel.kept) == 3 and sel.kept[0] == 5 and 0 not in sel.kept
    assert sel.duplicates == {0: 5}


def test_bad_inputs():
    e = _vectors(7, 3)
    with pytest.raises(InvalidParameterError):
        remove_near_duplicates(e, [1.0], threshold=0.9)
    with pytest.raises(InvalidParameterError):
        remove_near_duplicates(e, [1.0, 2.0, 3.0], threshold=1.5)
    with pytest.raises(InvalidParameterError):
        select_diverse(e, [1.0, 2.0, 3.0], 2, novelty=2.0)
    with pytest.raises(InvalidParameterError):
        select_diverse(e[0], [1.0], 1)
