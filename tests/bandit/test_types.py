"""Context, Action and Decision round-trip through plain JSON."""
from __future__ import annotations

import json

import pytest

from bandit import Action, Context, Decision, InvalidRecordError


def _json_round_trip(data):
    return json.loads(json.dumps(data))


def test_context_round_trips_through_json(small_world):
    for imp in small_world.impressions(20, seed=1):
        assert Context.from_dict(_json_round_trip(imp.context.to_dict())) == imp.context
    odd = Context("u 1", "t|1", {"device": "tv", "hour": 7, "premium": 1.5}, {"drama": 0.25}, ("drama", "war"))
    assert Context.from_dict(_json_round_trip(odd.to_dict())) == odd


def test_action_round_trips_through_json(small_world):
    for action in small_world.actions[0]:
        assert Action.from_dict(_json_round_trip(action.to_dict())) == action


def test_decision_round_trips_through_json():
    d = Decision("ev1", ("a", "b", "c"), (0.2, 0.3, 0.5), 2, "vw", 4)
    back = Decision.from_dict(_json_round_trip(d.to_dict()))
    assert back == d and back.probability == 0.5 and back.action_id == "c"


@pytest.mark.parametrize(
    "cls, data, message",
    [
        (Context, {"title_id": "t"}, "missing user_id"),
        (Action, {"features": {}}, "missing id"),
        (Decision, {"event_id": "e"}, "missing action_ids"),
        (Context, ["u", "t"], "must be a mapping"),
    ],
)
def test_incomplete_dicts_are_refused(cls, data, message):
    with pytest.raises(InvalidRecordError, match=message):
        cls.from_dict(data)
