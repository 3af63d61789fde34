"""VWPolicy: kept action examples predict what a fresh parse does; the igw reward model and its floor."""
from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from vowpalwabbit.pyvw import pylibvw

from artwork.reward_mapping import RewardMapping, engaged
from bandit import Action, Context, SnapshotError, SnapshotStore, VWPolicy, VWSettings
from bandit import vw_policy

from .conftest import FLOOR, POLICY_FACTORIES

ROOT = Path(__file__).resolve().parents[2]
VW_KINDS = sorted(k for k in POLICY_FACTORIES if k.startswith("vw-"))


def _fresh_scores(policy: VWPolicy, context, actions) -> list[list[float]]:
    """Each model's prediction from parsing the whole example again with that model, as a
    policy without the cache (and without sharing the first model's parse) would."""
    out = []
    for ws in policy._models:
        examples = ws._parse("\n".join(policy.example(context, actions)))
        try:
            pylibvw.vw.predict_multi(ws, examples)
            out.append(examples[0].get_action_scores())
        finally:
            pylibvw.vw._finish_example_multi_ex(ws, examples)
    return out


@pytest.mark.parametrize("kind", VW_KINDS)
def test_kept_action_examples_predict_what_a_fresh_parse_predicts(kind, small_world):
    policy = POLICY_FACTORIES[kind](3)
    rng = np.random.default_rng(0)
    reward_of = RewardMapping()
    compared = 0
    for imp in small_world.impressions(600, seed=11):
        # Learning in between changes the weights the kept examples are scored with.
        cached = policy._scores(imp.context, imp.actions)
        fresh = _fresh_scores(policy, imp.context, imp.actions)
        assert len(cached) == len(fresh) == len(policy._models)
        for kept, parsed in zip(cached, fresh):
            assert kept == pytest.approx(parsed, abs=1e-7)
        compared += 1
        decision = policy.decide(imp.context, imp.actions)
        feedback = small_world.feedback(imp, decision.chosen, rng)
        policy.learn(imp.context, imp.actions, decision, reward_of(feedback), engaged(feedback))
    assert compared == 600
    # One kept entry per title's candidates: the world has six titles.
    assert len(policy._parsed) == 6


def test_changed_candidates_are_parsed_again(small_world):
    policy = VWPolicy(VWSettings(), floor=FLOOR, seed=0)
    imp = next(small_world.impressions(1, seed=1))
    first = policy.pmf(imp.context, imp.actions)
    changed = (dataclasses.replace(imp.actions[0], tags=("face", "close-up")),) + imp.actions[1:]
    policy.pmf(imp.context, changed)
    assert len(policy._parsed) == 2
    for kept, parsed in zip(policy._scores(imp.context, changed), _fresh_scores(policy, imp.context, changed)):
        assert kept == pytest.approx(parsed, abs=1e-7)
    assert policy.pmf(imp.context, imp.actions) == first


def test_kept_examples_are_bounded_and_survive_a_restore(small_world, monkeypatch):
    monkeypatch.setattr(vw_policy, "ACTION_EXAMPLE_TITLES", 3)
    policy = VWPolicy(VWSettings(), floor=FLOOR, seed=0)
    imps = list(small_world.impressions(200, seed=2))
    for imp in imps:
        policy.pmf(imp.context, imp.actions)
    assert len(policy._parsed) == 3
    trained = VWPolicy(VWSettings(), floor=FLOOR, seed=0)
    rng = np.random.default_rng(1)
    for imp in imps:
        d = trained.decide(imp.context, imp.actions)
        trained.learn(imp.context, imp.actions, d,
                      RewardMapping()(small_world.feedback(imp, d.chosen, rng)))
    # A restore swaps the workspace: examples parsed by the old one must not be used with it.
    policy.restore(trained.state(), model_version=4)
    assert len(policy._parsed) == 0
    for imp in imps[:20]:
        assert policy.pmf(imp.context, imp.actions) == trained.pmf(imp.context, imp.actions)
    policy.close()
    assert len(policy._parsed) == 0


def _igw(**settings) -> VWPolicy:
    return VWPolicy(VWSettings(exploration="igw", **settings), floor=0.01, seed=0)


def test_igw_learns_the_play_probability_and_prefers_what_plays():
    policy = _igw()
    rng = np.random.default_rng(0)
    actions = (Action("a", {"x": 1.0}), Action("b", {"y": 1.0}), Action("c", {"z": 1.0}))
    rates = (0.12, 0.03, 0.06)
    for i in range(3000):
        context = Context(f"u{i % 50}", "t", {"device": "tv"})
        d = policy.decide(context, actions)
        policy.learn(context, actions, d, float(rng.random() < rates[d.chosen]))
    pmf = policy.pmf(Context("someone", "t", {"device": "tv"}), actions)
    assert pmf[0] > 0.9 and min(pmf) >= 0.01
    # the model's log-odds of a play come out near the true rates
    odds = vw_policy.play_log_odds(*policy._scores(Context("u1", "t", {"device": "tv"}), actions))
    assert odds[0] > odds[2] > odds[1]
    assert 1 / (1 + np.exp(-odds[0])) == pytest.approx(0.12, abs=0.04)


def test_the_funnel_learns_engagement_and_the_play_given_engagement():
    """Clickbait draws three times the clicks of the artwork that plays best: a model of the
    clicks alone would serve it, the funnel serves what plays, and each of its models learns
    its own rate."""
    policy = _igw()
    rng = np.random.default_rng(1)
    actions = (Action("bait", {"x": 1.0}), Action("good", {"y": 1.0}), Action("dull", {"z": 1.0}))
    clicks, plays = (0.30, 0.10, 0.05), (0.10, 0.60, 0.40)  # play rates 0.03, 0.06, 0.02
    for i in range(4000):
        context = Context(f"u{i % 50}", "t", {"device": "tv"})
        d = policy.decide(context, actions)
        clicked = rng.random() < clicks[d.chosen]
        played = clicked and rng.random() < plays[d.chosen]
        policy.learn(context, actions, d, float(played), clicked)
    scores = policy._scores(Context("u1", "t", {"device": "tv"}), actions)
    assert len(scores) == 2
    engagement, given = (1 / (1 + np.exp(np.asarray(s))) for s in scores)
    assert engagement[0] > engagement[1]  # the bait draws the clicks
    assert given[1] > 3 * given[0]  # and the good one the plays
    odds = vw_policy.play_log_odds(*scores)
    assert odds[1] == max(odds)
    assert 1 / (1 + np.exp(-odds[1])) == pytest.approx(engagement[1] * given[1], rel=1e-9)
    pmf = policy.pmf(Context("someone", "t", {"device": "tv"}), actions)
    assert pmf[1] == max(pmf) and min(pmf) >= 0.01


def test_play_log_odds_stay_finite_at_the_extremes():
    sure, hopeless = -800.0, 800.0  # log-odds of no engagement / of no reward
    odds = vw_policy.play_log_odds([sure, sure, hopeless, 0.0, 2.0, -3.0], [sure, hopeless, hopeless, 0.0, -1.0, 4.0])
    assert all(math.isfinite(v) for v in odds)
    assert odds[0] > 700 and odds[1] < -700 and odds[2] < -1500
    assert odds[3] == pytest.approx(math.log(0.25 / 0.75))
    for odd, a, b in ((odds[4], 2.0, -1.0), (odds[5], -3.0, 4.0)):  # P = P(e) x P(r | e)
        p = 1 / (1 + math.exp(a)) / (1 + math.exp(b))
        assert odd == pytest.approx(math.log(p / (1 - p)), rel=1e-12)
    assert vw_policy.play_log_odds([0.5, -1.0]) == [-0.5, 1.0]


def test_a_reward_counts_as_engagement_whatever_was_reported():
    """A play reported without a click (or by a caller that knows nothing of clicks) still
    teaches both models: a user who played the title engaged with its artwork."""
    policy = _igw()
    actions = (Action("a", {"x": 1.0}), Action("b", {"y": 1.0}))
    context = Context("u", "t", {"device": "tv"})
    before = policy._scores(context, actions)
    d = policy.decide(context, actions)
    for _ in range(50):
        policy.learn(context, actions, d, 1.0, False)
    after = policy._scores(context, actions)
    assert after[0][d.chosen] < before[0][d.chosen] - 1  # more engaged
    assert after[1][d.chosen] < before[1][d.chosen] - 1  # and rewarded once engaged


def test_igw_floor_falls_with_a_titles_traffic_and_the_logged_probability_is_the_pmf():
    policy = _igw(floor_min=0.002, floor_ramp=100)
    actions = tuple(Action(f"a{i}", {"f": float(i)}) for i in range(5))
    busy, quiet = Context("u", "busy", {}), Context("u", "quiet", {})
    for _ in range(2500):
        d = policy.decide(busy, actions)
        policy.learn(busy, actions, d, 0.0)
    assert policy.title_counts == {"busy": 2500}
    # sqrt(100 / 2500) of the starting floor: 0.002, the minimum
    assert policy._floor(busy) == pytest.approx(0.002) and policy._floor(quiet) == 0.01
    for context, floor in ((busy, 0.002), (quiet, 0.01)):
        for _ in range(200):
            d = policy.decide(context, actions)
            assert min(d.pmf) >= floor - 1e-12 and min(d.pmf) > 0
            assert d.probability == d.pmf[d.chosen] and math.isclose(sum(d.pmf), 1.0, abs_tol=1e-9)


def test_igw_state_keeps_the_title_counts_and_the_pmf(tmp_path):
    policy = _igw(floor_min=0.002, floor_ramp=10)
    actions = (Action("a", {"x": 1.0}), Action("b", {"y": 1.0}))
    context = Context("u", "t", {"device": "tv"})
    for i in range(300):
        d = policy.decide(context, actions)
        policy.learn(context, actions, d, float(i % 7 == 0))
    store = SnapshotStore(tmp_path, policy.name)
    store.write(policy)
    again = _igw(floor_min=0.002, floor_ramp=10)
    store.load_into(again)
    assert again.title_counts == policy.title_counts == {"t": 300}
    assert again.pmf(context, actions) == policy.pmf(context, actions)
    with pytest.raises(SnapshotError, match="not the state of an igw"):
        again.restore(VWPolicy(VWSettings(), floor=0.01).state())
    # A model of the play alone (the state written before the funnel) and a funnel do not mix.
    alone = _igw(floor_min=0.002, floor_ramp=10, funnel=False)
    with pytest.raises(SnapshotError, match="not the state of an igw VWPolicy without a funnel"):
        alone.restore(policy.state())
    with pytest.raises(SnapshotError, match="not the state of an igw VWPolicy with a funnel"):
        again.restore(alone.state())
    with pytest.raises(SnapshotError, match="settings"):
        SnapshotStore(tmp_path, policy.name).load_into(alone)
    damaged = bytearray(policy.state())
    damaged[len(vw_policy._FUNNEL_STATE) + 8:len(vw_policy._FUNNEL_STATE) + 16] = (10**9).to_bytes(8, "big")
    with pytest.raises(SnapshotError, match="lengths do not add up"):
        again.restore(bytes(damaged))
    assert again.pmf(context, actions) == policy.pmf(context, actions)  # a refused state changes nothing


def test_an_igw_policy_without_the_funnel_keeps_the_settings_it_was_written_with():
    """Snapshots written before the funnel existed name no funnel; a policy built with
    funnel=false loads them, and writes the same one-model state."""
    alone, funnel = _igw(funnel=False).settings(), _igw().settings()
    assert "funnel" not in alone and funnel.pop("funnel") is True and funnel == alone
    alone = _igw(funnel=False)
    assert len(alone._models) == 1 and alone.state().startswith(vw_policy._IGW_STATE)


@pytest.mark.parametrize("spec", ["vw:squarecb", "vw:igw"])
def test_kept_examples_are_released_safely_after_learning(spec, tmp_path):
    """Finishing kept action examples once the workspace has learned used to crash VW."""
    script = f"""
import numpy as np
from bandit.specs import parse_policy_spec
from simulator.realistic_world import suite_world
world = suite_world("typical", 0, 400)
rng = np.random.default_rng(0)
policy = parse_policy_spec({spec!r}).build(0)
for step in range(400):
    imp = world.impression(rng, step)
    d = policy.decide(imp.context, imp.actions)
    policy.learn(imp.context, imp.actions, d, float(rng.random() < 0.3))
state = policy.state()
policy.restore(state)
for step in range(100):
    imp = world.impression(rng, step)
    d = policy.decide(imp.context, imp.actions)
    policy.learn(imp.context, imp.actions, d, 0.0)
policy.close()
print("released")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 0 and "released" in done.stdout, done.stderr[-1000:]
