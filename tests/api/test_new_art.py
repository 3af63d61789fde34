"""Fair exposure in serving: an artwork approved mid-run gets its minimum share, through the pmf."""
from __future__ import annotations

import math
import time

import pytest

from api.runtime.catalog_cache import CatalogCache
from api.runtime.engine import Engine
from api.runtime.new_art import NewArtTracker
from bandit.baselines import DefaultArtworkPolicy
from bandit.new_art import FairExposure

SHARE, FLOOR = 0.2, 0.01


def _serving(store, jpeg_bytes, rule: FairExposure):
    """A title with three live artworks (the first its default), a greedy policy and an engine."""
    store.add_title("t1", "One")
    arts = store.add_artworks([{"title_id": "t1", "data": jpeg_bytes(i), "status": "live"}
                               for i in range(3)])
    store.set_default(arts[0].id)
    newcomer = store.add_artworks([{"title_id": "t1", "data": jpeg_bytes(9)}])[0]
    policy = DefaultArtworkPolicy(epsilon=0.03, floor=FLOOR, seed=5)
    policy.exposure = rule
    engine = Engine(store, CatalogCache(store, ttl=0.0), lambda: policy,
                    new_art=NewArtTracker(store, rule, refresh=0.05))
    return engine, newcomer


def _serve(engine, n: int, start: int = 0) -> list:
    return [engine.decide(f"u{(start + i) % 50}", ["t1"], {"device": "tv"})[0].decision
            for i in range(n)]


def _check_logged(store) -> None:
    """Every logged probability is the pmf's entry for the action, and every pmf sums to 1."""
    for d in store.decisions():
        assert d.probability == d.pmf[d.candidates.index(d.action)]
        assert math.isclose(sum(d.pmf), 1.0, abs_tol=1e-9)
        assert min(d.pmf) >= FLOOR - 1e-12


def test_an_artwork_approved_mid_run_reaches_its_minimum_impressions_within_the_window(
        store, jpeg_bytes):
    rule = FairExposure(share=SHARE, impressions=120, window=60.0)
    engine, newcomer = _serving(store, jpeg_bytes, rule)
    before = _serve(engine, 300)
    store.ingest_journal()  # the title's decisions so far, as the background ingest makes them
    assert all(newcomer.id not in d.candidates for d in before)
    approved = time.time()
    store.set_status(newcomer.id, "live")
    during = _serve(engine, 1500, start=300)
    store.ingest_journal()
    shown = [d for d in during if d.action == newcomer.id]
    # The boost is in the served pmf until the newcomer has had its impressions ...
    boosted = [d for d in during if d.pmf[d.candidates.index(newcomer.id)] >= SHARE - 1e-12]
    assert len(boosted) >= 400
    # ... which it reached within the window, then it competes on the policy's own terms.
    assert len(shown) >= rule.impressions
    reached = sorted(d.timestamp for d in shown)[rule.impressions - 1]
    assert reached - approved < rule.window
    last = during[-1]
    assert last.pmf[last.candidates.index(newcomer.id)] < 0.05
    # The artworks the title started with were never boosted: they were not new to it.
    old = [c for c in last.candidates if c != newcomer.id]
    assert all(d.pmf[d.candidates.index(c)] < 0.05 for d in before for c in old[1:])
    _check_logged(store)


def test_the_boost_ends_when_the_window_has_passed(store, jpeg_bytes):
    rule = FairExposure(share=SHARE, impressions=10_000, window=0.5)
    engine, newcomer = _serving(store, jpeg_bytes, rule)
    _serve(engine, 50)
    store.ingest_journal()
    store.set_status(newcomer.id, "live")
    assert _serve(engine, 1)[0].pmf[-1] == pytest.approx(SHARE)
    time.sleep(0.6)
    late = _serve(engine, 1)[0]
    assert late.pmf[late.candidates.index(newcomer.id)] < 0.05
    _check_logged(store)
