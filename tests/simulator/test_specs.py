"""Policy spec parsing: every kind, parameters, and clear errors."""
from __future__ import annotations

import pytest

from bandit.baselines import DefaultArtworkPolicy, EpsilonGreedyPolicy, ThompsonPolicy, UniformPolicy
from bandit.vw_policy import VWPolicy
from bandit.errors import PolicySpecError
from simulator.specs import parse_policy_spec, parse_policy_specs, probability_file


@pytest.mark.parametrize("text, cls, attrs", [
    ("uniform", UniformPolicy, {}),
    ("default", DefaultArtworkPolicy, {"epsilon": 0.1}),
    ("default:0.05", DefaultArtworkPolicy, {"epsilon": 0.05}),
    ("egreedy:0.2", EpsilonGreedyPolicy, {"epsilon": 0.2}),
    ("egreedy:0.2,floor=0", EpsilonGreedyPolicy, {"epsilon": 0.2, "floor": 0.0}),
    ("thompson", ThompsonPolicy, {}),
    ("thompson:64", ThompsonPolicy, {"grid": 64}),
    # A kind without its bare parameter takes named ones after a comma.
    ("thompson,floor=0.02", ThompsonPolicy, {"floor": 0.02}),
    ("uniform,floor=0", UniformPolicy, {}),
])
def test_baseline_specs(text, cls, attrs):
    policy = parse_policy_spec(text).build(seed=3)
    assert type(policy) is cls
    for key, value in attrs.items():
        assert getattr(policy, key) == value


@pytest.mark.parametrize("text, exploration, extra", [
    ("vw", "squarecb", {}),
    ("vw:squarecb", "squarecb", {}),
    ("vw:epsilon=0.05", "epsilon", {"epsilon": 0.05}),
    ("vw:softmax,softmax_lambda=5", "softmax", {"softmax_lambda": 5.0}),
    ("vw:bag,bag_size=3,learning_rate=0.1", "bag", {"bag_size": 3, "learning_rate": 0.1}),
    ("vw:igw", "igw", {"funnel": True}),  # the funnel is igw's default
    ("vw:igw,funnel=false", "igw", {"funnel": False}),
    ("vw:igw,funnel=No", "igw", {"funnel": False}),
    ("vw:igw,funnel=1", "igw", {"funnel": True}),
    ("vw:squarecb", "squarecb", {"funnel": False}),
])
def test_vw_specs(text, exploration, extra):
    spec = parse_policy_spec(text)
    assert spec.learns
    policy = spec.build()
    assert isinstance(policy, VWPolicy) and policy.vw_settings.exploration == exploration
    for key, value in extra.items():
        assert getattr(policy.vw_settings, key) == value


def test_file_and_logged_specs():
    spec = parse_policy_spec("file:probs.csv")
    assert spec.kind == "file" and str(probability_file(spec)) == "probs.csv" and not spec.learns
    assert parse_policy_spec("logged").kind == "logged"


@pytest.mark.parametrize("text, message", [
    ("", "empty policy spec"),
    ("greedy", "unknown policy 'greedy'; use one of: uniform"),
    ("egreedy:lots", "epsilon='lots' is not a number"),
    ("egreedy:1.5", "epsilon 1.5 must be in \\[0, 1\\]"),
    ("vw:magic", "exploration 'magic' is unknown"),
    ("vw:squarecb,colour=red", "unknown parameter 'colour' for vw"),
    ("uniform:0.3", "uniform takes no bare parameter"),
    ("thompson:2.5", "grid='2.5' is not an integer"),
    ("file:", "file needs its path"),
    ("egreedy:0.1,", "empty parameter"),
    ("egreedy,0.1", "'0.1' needs a name, e.g. floor=0.01"),
    ("file,x.json", "file needs its path"),
    ("vw:igw,funnel=maybe", "funnel='maybe' is not true or false"),
    ("vw:squarecb,funnel=true", "funnel .* needs exploration 'igw'"),
])
def test_bad_specs(text, message):
    with pytest.raises(PolicySpecError, match=message):
        parse_policy_spec(text).build()


def test_duplicate_and_missing_specs():
    with pytest.raises(PolicySpecError, match="given twice"):
        parse_policy_specs(["uniform", "uniform"])
    with pytest.raises(PolicySpecError, match="no policy given"):
        parse_policy_specs([])


def test_vw_spec_with_a_snapshot_model_is_a_fixed_policy(tmp_path):
    from bandit.snapshots import SnapshotStore
    from bandit.types import Action, Context

    learner = parse_policy_spec("vw:igw,floor=0.02").build(seed=1)
    actions = (Action("a1", features={"x": 1.0}), Action("a2", features={"x": 0.0}))
    context = Context(user_id="u1", title_id="t1", features={"device": "tv"})
    for _ in range(300):
        decision = learner.decide(context, actions)
        learner.learn(context, actions, decision, float(decision.chosen == 0))
    path = SnapshotStore(tmp_path, learner.name).write(learner).path
    spec = parse_policy_spec(f"vw:igw,floor=0.02,model={path}")
    assert spec.learns is False and spec.contextual
    assert parse_policy_spec("vw:igw").learns  # without a model it learns as it replays
    assert spec.build().pmf(context, actions) == learner.pmf(context, actions)
    with pytest.raises(PolicySpecError, match="written with settings"):
        parse_policy_spec(f"vw:squarecb,model={path}").build()
    with pytest.raises(PolicySpecError, match="cannot read the snapshot"):
        parse_policy_spec(f"vw:igw,model={tmp_path / 'missing.snapshot'}").build()
