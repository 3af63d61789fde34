"""Action descriptions as logged: recorded once per key, and each decision's keys kept with it."""
from __future__ import annotations

import hashlib
import json

import pytest

from artwork.codecs import DECISION_COLUMNS
from artwork.errors import InvalidRecordError
from artwork.reward_mapping import RewardMapping
from tests.conftest import count_rows


def _described(artwork_id: str, **features: float) -> tuple[str, str, str]:
    """(key, artwork_id, description) as a caller makes them: the key digests the description."""
    description = json.dumps({"id": artwork_id, **features}, sort_keys=True)
    return hashlib.sha256(description.encode()).hexdigest()[:16], artwork_id, description


def test_descriptions_are_recorded_once_per_key(store):
    a1, a2 = _described("a1", bright=0.5), _described("a2", bright=0.9)
    assert store.record_actions([a1, a2, a1]) == 2
    assert store.record_actions([a2, _described("a2", bright=0.1)]) == 1  # a re-scanned artwork
    assert count_rows(store, "actions") == 3
    assert store.action_descriptions([a1[0], a2[0], "unknown-key"]) == {
        a1[0]: a1[2], a2[0]: a2[2]}
    assert store.action_descriptions([]) == {}
    assert store.record_actions([]) == 0


@pytest.mark.parametrize("bad", [("k", "a1"), ("", "a1", "{}"), ("k", "a1", None), ("k", 3, "{}")])
def test_malformed_descriptions_are_refused_and_none_recorded(store, bad):
    with pytest.raises(InvalidRecordError, match="is not a \\(key, artwork_id, description\\)"):
        store.record_actions([_described("a1"), bad])
    assert count_rows(store, "actions") == 0


def test_action_keys_round_trip_through_journal_and_ingest(store, data_dir, make_decision):
    described = [_described(a, bright=i / 4) for i, a in enumerate(("a1", "a2", "a3"))]
    keys = tuple(key for key, _, _ in described)
    store.record_actions(described)
    with_keys = make_decision("e1", 100.0, action_keys=keys)
    without = make_decision("e2", 101.0)
    store.journal_decisions([with_keys, without])
    line = next((data_dir / "journal").glob("*.jsonl")).read_text().splitlines()[0]
    keys_at = DECISION_COLUMNS.index("action_keys")
    assert json.loads(json.loads(line)[keys_at]) == list(keys)  # the journal line carries them
    store.ingest_journal()
    assert store.get_decision("e1").action_keys == keys
    assert store.get_decision("e2").action_keys == ()
    [pair, _] = store.learning_pairs(60, RewardMapping(), now=1000)
    seen = store.action_descriptions(pair.decision.action_keys)
    assert [seen[k] for k in pair.decision.action_keys] == [d for _, _, d in described]


def test_keys_that_do_not_match_the_candidates_are_refused(store, make_decision):
    with pytest.raises(InvalidRecordError, match="2 action keys for 3 candidates"):
        store.journal_decisions([make_decision("e1", 1.0, action_keys=("k1", "k2"))])
    assert store.count_decisions() == 0
