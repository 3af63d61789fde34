"""The named policies and experiments tables, and shadow pmfs through the journal, on both backends."""
from __future__ import annotations

import pytest

from artwork.errors import AlreadyExistsError, InvalidRecordError, NotFoundError
from artwork.policies import CHAMPION, SHADOW
from artwork.records import LoggedDecision
from tests.conftest import log_decisions


def test_policies_are_recorded_with_one_champion(store):
    store.policies.add("a", "uniform")
    store.policies.add("b", "egreedy", CHAMPION)
    with pytest.raises(AlreadyExistsError):
        store.policies.add("b", "thompson")
    with pytest.raises(NotFoundError, match="no policy named 'zz'"):
        store.policies.get("zz")
    assert [(p.name, p.role) for p in store.policies.list()] == [("b", CHAMPION), ("a", SHADOW)]
    store.policies.make_champion("a", "uniform")
    assert [(p.name, p.role) for p in store.policies.list()] == [("a", CHAMPION), ("b", SHADOW)]


def test_one_experiment_runs_at_a_time_and_keeps_its_result(store):
    exp = store.experiments.start("e1", {"a": 30, "b": 70})
    assert store.experiments.running() == exp and exp.arms == (("a", 30.0), ("b", 70.0))
    with pytest.raises(AlreadyExistsError, match="'e1' is running"):
        store.experiments.start("e2", {"a": 50, "b": 50})
    stopped = store.experiments.stop("e1", {"arms": []})
    assert not stopped.running and stopped.result == {"arms": []}
    assert store.experiments.running() is None
    with pytest.raises(InvalidRecordError, match="already stopped"):
        store.experiments.stop("e1", {})
    assert store.experiments.start("e2", {"a": 50, "b": 50}).salt != exp.salt


def test_shadow_pmfs_go_through_the_journal_exactly(store):
    store.add_title("t1", "One")
    d = LoggedDecision("e1", 1.0, "u1", "t1", {}, ("a", "b", "c"), (0.2, 0.3, 0.5), "b", 0.3,
                       "vw", 0, (), {"ch": (0.1, 0.7000000000000001, 0.19999999999999996)})
    log_decisions(store, [d])
    assert store.get_decision("e1").shadow == d.shadow
    bad = LoggedDecision("e2", 2.0, "u1", "t1", {}, ("a", "b"), (0.5, 0.5), "a", 0.5, "vw", 0,
                         (), {"ch": (0.5, 0.6)})
    with pytest.raises(InvalidRecordError, match="shadow pmf for 'ch' summing to 1.1"):
        store.journal_decisions([bad])
