"""The realistic worlds: exact probabilities, rare plays, Zipf traffic, cold users, uploads and wear-out."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulator.errors import WorldError
from simulator.realistic_world import SUITE, RealisticConfig, RealisticWorld, suite_world


@pytest.fixture(scope="module")
def world() -> RealisticWorld:
    return RealisticWorld(RealisticConfig(seed=3), n_steps=10_000)


def test_the_same_seed_draws_the_same_world():
    a, b = (RealisticWorld(RealisticConfig(seed=4), n_steps=100) for _ in range(2))
    assert np.array_equal(a.appeal, b.appeal) and a.actions == b.actions
    assert not np.array_equal(a.appeal, RealisticWorld(RealisticConfig(seed=5), 100).appeal)


def test_probabilities_are_exact_and_plays_are_rare(world):
    rng = np.random.default_rng(0)
    takes = [world.take_probabilities(world.impression(rng, t)) for t in range(3000)]
    mean = np.mean([q.mean() for q in takes])
    oracle = np.mean([q.max() for q in takes])
    assert 0.02 < mean < 0.15 and oracle < 0.25
    assert all(((q >= 0) & (q <= 1)).all() for q in takes)


def test_traffic_follows_popularity_and_some_users_have_no_history(world):
    rng = np.random.default_rng(1)
    imps = [world.impression(rng, t) for t in range(5000)]
    counts = np.bincount([i.title for i in imps], minlength=world.config.n_titles)
    assert counts[0] > 10 * counts[-5:].mean()  # title 0 is the most popular (Zipf)
    cold = np.mean([not i.context.genre_affinity for i in imps])
    assert cold == pytest.approx(world.config.cold_users, abs=0.05)


def test_uploads_go_live_halfway_and_are_flagged(world):
    title = int(np.flatnonzero(world.n_artworks > world.n_base)[0])
    before, after = world.live(title, 4999), world.live(title, 5000)
    assert before == world.n_base[title] < after == world.n_artworks[title]
    rng = np.random.default_rng(2)
    imp = next(i for i in (world.impression(rng, 6000) for _ in range(5000)) if i.title == title)
    assert len(imp.actions) == after and world.new_artworks(imp)[before:].all()
    assert not world.new_artworks(imp)[:before].any()


def test_a_wearing_artwork_loses_play_probability_over_the_run(world):
    title = int(np.flatnonzero(world.wearing >= 0)[0])
    rng = np.random.default_rng(3)
    imp = next(i for i in (world.impression(rng, 0) for _ in range(5000)) if i.title == title)
    early = world.take_probabilities(imp)[world.wearing[title]]
    late = world.take_probabilities(dataclasses.replace(imp, step=world.n_steps))[world.wearing[title]]
    assert late < early


def test_clickbait_draws_clicks_but_few_plays(world):
    rng = np.random.default_rng(4)
    bait_click, bait_play, other_click, other_play = [], [], [], []
    for t in range(3000):
        imp = world.impression(rng, t)
        click, play = world.click_and_play(imp)
        bait = world.clickbait[imp.title, : len(imp.actions)]
        bait_click += list(click[bait]); bait_play += list(play[bait])
        other_click += list(click[~bait]); other_play += list(play[~bait])
    assert np.mean(bait_click) > np.mean(other_click) and np.mean(bait_play) < np.mean(other_play)


def test_every_world_of_the_suite_draws():
    for name in SUITE:
        assert suite_world(name, 0, 1000).config == dataclasses.replace(SUITE[name], seed=0)
    with pytest.raises(WorldError, match="no world 'nope' in the suite"):
        suite_world("nope", 0, 1000)


@pytest.mark.parametrize("settings, message", [
    ({"min_artworks": 1}, "need 2 <= min_artworks"),
    ({"cold_users": 1.5}, "cold_users must be in"),
    ({"click_rate": 0.0}, "click_rate must be in"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(WorldError, match=message):
        RealisticConfig(**settings)
