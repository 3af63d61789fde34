"""VWPolicy's reuse of parsed action examples gives exactly what a fresh parse gives."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from vowpalwabbit.pyvw import pylibvw

from artwork.reward_mapping import RewardMapping
from bandit import VWPolicy, VWSettings
from bandit import vw_policy

from .conftest import FLOOR, POLICY_FACTORIES

VW_KINDS = sorted(k for k in POLICY_FACTORIES if k.startswith("vw-"))


def _fresh_pmf(policy: VWPolicy, context, actions) -> list[float]:
    """The pmf from parsing the whole example again, as a policy without the cache would."""
    ws = policy._workspace
    examples = ws._parse("\n".join(policy.example(context, actions)))
    try:
        pylibvw.vw.predict_multi(ws, examples)
        return examples[0].get_action_scores()
    finally:
        pylibvw.vw._finish_example_multi_ex(ws, examples)


@pytest.mark.parametrize("kind", VW_KINDS)
def test_kept_action_examples_predict_what_a_fresh_parse_predicts(kind, small_world):
    policy = POLICY_FACTORIES[kind](3)
    rng = np.random.default_rng(0)
    reward_of = RewardMapping()
    compared = 0
    for imp in small_world.impressions(600, seed=11):
        # Learning in between changes the weights the kept examples are scored with.
        cached = list(policy._pmf(imp.context, imp.actions))
        assert cached == pytest.approx(_fresh_pmf(policy, imp.context, imp.actions), abs=1e-7)
        compared += 1
        decision = policy.decide(imp.context, imp.actions)
        feedback = small_world.feedback(imp, decision.chosen, rng)
        policy.learn(imp.context, imp.actions, decision, reward_of(feedback))
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
    assert list(policy._pmf(imp.context, changed)) == pytest.approx(
        _fresh_pmf(policy, imp.context, changed), abs=1e-7)
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
