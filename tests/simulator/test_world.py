"""The synthetic world: seeded, honest about what is observable, exact ground truth."""
from __future__ import annotations

import numpy as np
import pytest

from bandit import Action, Context
from simulator.errors import WorldError
from simulator.world import NIGHT_HOURS, World, WorldConfig


@pytest.fixture(scope="module")
def world() -> World:
    return World(WorldConfig(n_users=200, n_titles=6, artworks_per_title=5, seed=4))


def test_same_seed_same_world_and_traffic():
    cfg = WorldConfig(n_users=50, n_titles=3, artworks_per_title=4, seed=9)
    a, b = World(cfg), World(cfg)
    assert a.actions == b.actions
    ia, ib = list(a.impressions(30, seed=1)), list(b.impressions(30, seed=1))
    assert [i.context for i in ia] == [i.context for i in ib]
    assert np.array_equal(a.take_probabilities(ia[0]), b.take_probabilities(ib[0]))
    other = World(WorldConfig(n_users=50, n_titles=3, artworks_per_title=4, seed=10))
    assert other.actions != a.actions


def test_default_world_has_the_issue_scale():
    cfg = WorldConfig()
    assert (cfg.n_users, cfg.n_titles, cfg.artworks_per_title) == (2000, 50, 8)


def test_impressions_are_bandit_inputs(world):
    imp = next(world.impressions(1, seed=2))
    assert isinstance(imp.context, Context) and all(isinstance(a, Action) for a in imp.actions)
    assert imp.context.user_id == world.user_id(imp.user) and imp.context.title_id == world.title_id(imp.title)
    assert set(imp.context.features) == {"device", "country", "hour"}
    assert len(imp.context.genre_affinity) == 8 and imp.context.title_genres
    action = imp.actions[0]
    assert {"face", "dark", "sharpness"} <= set(action.features) and len(action.embedding) == 4
    assert sum(a.is_default for a in imp.actions) == 1
    assert len({a.id for a in imp.actions}) == len(imp.actions)


def test_oracle_and_expected_reward_are_exact(world):
    for imp in world.impressions(50, seed=3):
        take = world.take_probabilities(imp)
        click, play = world.click_and_play(imp)
        assert np.allclose(take, click * play) and np.all((take > 0) & (take < 1))
        assert world.oracle(imp) == int(np.argmax(take))
        assert world.expected_reward(imp, imp.actions[2].id) == world.expected_reward(imp, 2) == take[2]
    with pytest.raises(WorldError, match="not a candidate"):
        world.expected_reward(imp, "nope")


def test_best_nonpersonalized_matches_a_brute_force_average(world):
    # Enumerate every user, device and hour with its probability.
    for title in range(world.config.n_titles):
        total = np.zeros(world.config.artworks_per_title)
        for user in range(world.config.n_users):
            for device in range(4):
                p_dev = 0.8 * (device == world.user_device[user]) + 0.2 / 4
                for night, hours in ((True, NIGHT_HOURS), (False, [12])):
                    p_night = world.user_night[user] if night else 1 - world.user_night[user]
                    imp = world.make_impression(user, title, device, hours[0])
                    total += p_dev * p_night * world.take_probabilities(imp)
        assert world.best_nonpersonalized(title) == int(np.argmax(total))


def test_feedback_frequencies_follow_the_probabilities(world):
    imp = next(world.impressions(1, seed=5))
    click, play = world.click_and_play(imp)
    rng = np.random.default_rng(6)
    n = 20000
    kinds = [world.feedback(imp, 1, rng) for _ in range(n)]
    assert all("impression" in k for k in kinds)
    clicks = sum("click" in k for k in kinds) / n
    plays = sum("play" in k for k in kinds) / n
    assert abs(clicks - click[1]) < 0.015 and abs(plays - click[1] * play[1]) < 0.015
    assert all("click" in k for k in kinds if "play" in k)


def test_clickbait_draws_clicks_but_few_plays(world):
    clicks_bait, clicks_other, take_bait, take_other = [], [], [], []
    for imp in world.impressions(300, seed=7):
        click, _ = world.click_and_play(imp)
        take = world.take_probabilities(imp)
        bait = world.clickbait[imp.title]
        clicks_bait.append(click[bait].mean())
        clicks_other.append(click[~bait].mean())
        take_bait.append(take[bait].mean())
        take_other.append(take[~bait].mean())
    assert np.mean(clicks_bait) > np.mean(clicks_other) + 0.1
    assert np.mean(take_bait) < 0.6 * np.mean(take_other)


def test_tastes_are_partly_observable_through_genre_affinities():
    world = World(WorldConfig(n_users=2000, n_titles=2, seed=1))
    affinity = world.user_affinity - world.user_affinity.mean(axis=1, keepdims=True)
    # The best linear read of the hidden individual taste from the affinities explains a lot, not all.
    coef, *_ = np.linalg.lstsq(np.c_[affinity, np.ones(len(affinity))], world.user_individual, rcond=None)
    residual = world.user_individual - np.c_[affinity, np.ones(len(affinity))] @ coef
    explained = 1 - residual.var(axis=0) / world.user_individual.var(axis=0)
    assert np.all(explained > 0.4) and np.all(explained < 0.95)
    hidden = World(WorldConfig(n_users=2000, n_titles=2, observability=0.0, seed=1))
    affinity = hidden.user_affinity - hidden.user_affinity.mean(axis=1, keepdims=True)
    coef, *_ = np.linalg.lstsq(np.c_[affinity, np.ones(len(affinity))], hidden.user_individual, rcond=None)
    residual = hidden.user_individual - np.c_[affinity, np.ones(len(affinity))] @ coef
    assert np.all(1 - residual.var(axis=0) / hidden.user_individual.var(axis=0) < 0.05)


def test_personalization_has_headroom(world):
    imps = list(world.impressions(2000, seed=8))
    oracle = np.mean([world.take_probabilities(i).max() for i in imps])
    best = np.mean([world.take_probabilities(i)[world.best_nonpersonalized(i.title)] for i in imps])
    uniform = np.mean([world.take_probabilities(i).mean() for i in imps])
    assert oracle > best + 0.05 and best > uniform


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_users": 0}, "n_users"),
        ({"observability": 1.5}, "observability"),
        ({"clickbait_per_title": 8}, "clickbait_per_title"),
    ],
)
def test_bad_world_settings(kwargs, message):
    with pytest.raises(WorldError, match=message):
        WorldConfig(**kwargs)


def test_given_traits_replace_the_drawn_ones():
    import numpy as np
    import pytest

    from simulator.world import TRAITS, World, WorldConfig

    cfg = WorldConfig(n_users=50, n_titles=2, artworks_per_title=3, seed=4)
    traits = np.zeros((2, 3, len(TRAITS)))
    traits[:, :, TRAITS.index("face")] = [[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]
    world = World(cfg, traits=traits)
    assert np.array_equal(world.traits, traits)
    other = traits.copy()
    other[0, :, TRAITS.index("dark")] = 1.0
    imp = world.make_impression(user=0, title=0, device=0, hour=12)
    changed = World(cfg, traits=other)
    assert not np.allclose(world.take_probabilities(imp), changed.take_probabilities(imp))
    with pytest.raises(WorldError, match="traits must have shape"):
        World(cfg, traits=np.zeros((2, 2, len(TRAITS))))
    with pytest.raises(WorldError, match="values in"):
        World(cfg, traits=np.full((2, 3, len(TRAITS)), 2.0))
