"""From feedback kinds to a reward."""
from __future__ import annotations

import pytest

from artwork.errors import InvalidRewardError
from artwork.reward_mapping import RewardMapping


@pytest.mark.parametrize(
    "kinds, reward",
    [
        ({}, 0.0),
        ({"impression": None}, 0.0),
        ({"impression": None, "click": None}, 0.0),  # clickbait: a click without a play earns nothing
        ({"impression": None, "click": None, "play": None}, 1.0),
        ({"play": 0.4}, 1.0),  # values are ignored unless use_values
    ],
)
def test_default_mapping_rewards_plays_only(kinds, reward):
    assert RewardMapping()(kinds) == reward


def test_custom_weights_take_the_largest_received():
    mapping = RewardMapping({"impression": -0.1, "click": 0.3, "play": 1.0})
    assert mapping({"impression": None}) == -0.1
    assert mapping({"impression": None, "click": None}) == 0.3
    assert mapping({"click": None, "play": None}) == 1.0


def test_values_scale_weights_when_asked():
    mapping = RewardMapping({"click": 0.2, "play": 1.0}, use_values=True)
    assert mapping({"click": None, "play": 0.5}) == 0.5
    assert mapping({"click": None, "play": 0.1}) == 0.2


def test_mapping_is_frozen_and_copies_weights():
    weights = {"play": 1.0}
    mapping = RewardMapping(weights)
    weights["play"] = 5.0
    assert mapping({"play": None}) == 1.0
    with pytest.raises(AttributeError):
        mapping.use_values = True  # type: ignore[misc]


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(InvalidRewardError, match="'share' has no reward weight; known kinds: click, impression, play"):
        RewardMapping()({"share": None})


@pytest.mark.parametrize(
    "weights, message",
    [({}, "empty"), ({"play": float("nan")}, "finite"), ({"": 1.0}, "non-empty"), ({"play": "1"}, "finite")],
)
def test_bad_weights(weights, message):
    with pytest.raises(InvalidRewardError, match=message):
        RewardMapping(weights)
