"""VW example text: escaping, namespaces, interactions and labels."""
from __future__ import annotations

import pytest
import vowpalwabbit

from bandit import Action, Context, FeatureSpace, InvalidFeatureError, InvalidPolicyError, escape
from bandit.features import label_prefix, with_label


@pytest.fixture(scope="module")
def workspace():
    ws = vowpalwabbit.Workspace(arg_list=["--cb_explore_adf", "--quiet"])
    yield ws
    ws.finish()


def _example(space, context, actions):
    """The unlabelled example text: the shared line, then one line per action."""
    return [space.shared_line(context)] + [space.action_line(a) for a in actions]


def _feature_counts(workspace, lines):
    """Per example line: {namespace letter: number of features} as VW parsed it."""
    examples = workspace.parse(lines)
    try:
        return [
            {
                chr(ex.namespace(i)): ex.num_features_in(i)
                for i in range(ex.num_namespaces())
                if ex.namespace(i) < 128  # 128 is VW's constant namespace
            }
            for ex in examples
        ]
    finally:
        workspace.finish_example(examples)


@pytest.mark.parametrize("token", ["plain", "a b", "a|b", "a:b", "tab\there", "new\nline", "100%", " |:% "])
def test_escaped_token_has_no_vw_separator(token):
    escaped = escape(token)
    assert not set(escaped) & set(" \t\n\r|:")
    if token == "plain":
        assert escaped == "plain"


def test_escape_is_one_to_one():
    tokens = ["a b", "a%20b", "a%2520b", "a:b", "a%3Ab", "a|b", "a%7Cb"]
    assert len({escape(t) for t in tokens}) == len(tokens)


def test_hostile_ids_and_features_parse_to_the_same_shape_as_plain_ones(workspace):
    space = FeatureSpace()
    plain_ctx = Context("user1", "title1", {"device": "tv", "row": "top"}, {"drama": 0.3}, ("drama",))
    hostile_ctx = Context(
        "user 1|x:y", "title|1", {"dev ice": "t v", "row": "to|p:1"}, {"sci fi:x": 0.3}, ("sci|fi",)
    )
    plain_act = Action("art1", {"face": 0.5}, ("smile",), (0.1, 0.2))
    hostile_act = Action("art 1|:", {"fa ce:x": 0.5}, ("big smile|x",), (0.1, 0.2))
    plain = _feature_counts(workspace, _example(space, plain_ctx, [plain_act, plain_act]))
    hostile = _feature_counts(workspace, _example(space, hostile_ctx, [hostile_act, hostile_act]))
    assert hostile == plain
    assert plain[1] == {"a": 4, "i": 1}  # face, tag, two embedding values; artwork id


def test_lines_layout_and_label():
    space = FeatureSpace()
    ctx = Context("u1", "t1", {"device": "mobile", "hour": 23, "row": 2}, {"drama": 0.8, "comedy": 0.2}, ("drama",))
    actions = [Action("a1", {"face": 0.9}, is_default=True), Action("a2", {"dark": 0.4})]
    lines = with_label(_example(space, ctx, actions), 1, 1.0, 0.25)
    assert lines[0].startswith("shared |user ")
    assert "device=mobile" in lines[0] and "daypart=night" in lines[0] and "row:2" in lines[0]
    assert "affinity_drama:0.3" in lines[0] and "affinity_comedy:-0.3" in lines[0]
    assert "|identity user=u1 title=t1" in lines[0]
    assert lines[1] == "|action face:0.9 default |identity artwork=a1"
    assert lines[2] == label_prefix(-1.0, 0.25) + "|action dark:0.4 |identity artwork=a2"
    assert label_prefix(-1.0, 0.25) == "0:-1:0.25 "


@pytest.mark.parametrize(
    "context, action",
    [
        (Context("u", "t", {"row": float("nan")}), Action("a")),
        (Context("u", "t", genre_affinity={"drama": "high"}), Action("a")),
        (Context("u", "t"), Action("a", {"face": "big"})),
        (Context("u", "t"), Action("a", embedding=(float("inf"),))),
    ],
    ids=["nan-context", "word-affinity", "word-action-feature", "inf-embedding"],
)
def test_bad_feature_values_raise(context, action):
    with pytest.raises(InvalidFeatureError, match="feature"):
        _example(FeatureSpace(), context, [action])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"user_namespace": "user", "action_namespace": "unit"}, "share a first letter"),
        ({"interactions": ("ux",)}, "outside the namespaces"),
        ({"identity_namespace": "id x"}, "ASCII word"),
    ],
)
def test_bad_feature_space_settings(kwargs, message):
    with pytest.raises(InvalidPolicyError, match=message):
        FeatureSpace(**kwargs)


def test_interactions_become_vw_arguments():
    assert FeatureSpace(interactions=("ua", "ia")).vw_args() == ["--interactions", "ua", "--interactions", "ia"]
