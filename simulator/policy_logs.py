"""The store's log with named policies' own pmfs on it: what each would have done on each decision.

A decision carries the pmf of the policy that served it and, beside it, the pmfs of the
challengers that ran in shadow. Evaluating a named policy offline on the decisions where its
pmf was logged needs no re-simulation: its target pmf is exactly what it gave then.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from artwork.export import PARQUET, log_schema, record_batches
from artwork.join import RewardFn
from artwork.records import LoggedDecision
from artwork.store import Store

from simulator.errors import NoEvidenceError
from simulator.log_files import read_batches
from simulator.logs import LoggedFeedback

__all__ = ["PolicyLog", "logged_pmf", "policy_log"]


def logged_pmf(decision: LoggedDecision, name: str) -> tuple[float, ...] | None:
    """The pmf policy `name` gave on a logged decision: served or in shadow (None: neither)."""
    if decision.policy == name:
        return decision.pmf
    return decision.shadow.get(name)


class PolicyLog:
    """Logged feedback on the decisions where every one of some named policies gave its pmf."""

    def __init__(self, log: LoggedFeedback, targets: dict[str, np.ndarray],
                 decisions: Sequence[LoggedDecision]) -> None:
        self.log = log
        self.targets = targets  # name -> (n_rounds, max_candidates), aligned with log.candidates
        self.decisions = tuple(decisions)  # in the log's row order

    def target(self, name: str) -> np.ndarray:
        """Policy `name`'s pmf on every row of the log."""
        return self.targets[name]


def policy_log(store: Store, names: Sequence[str], *, window: float, reward_of: RewardFn,
               now: float | None = None) -> PolicyLog:
    """The decisions whose reward window has closed and on which every policy of `names` gave a pmf.

    Raises NoEvidenceError when there is none (nothing to evaluate them on yet).
    """
    names = list(dict.fromkeys(names))
    pairs = [p for p in store.learning_pairs(window, reward_of, now=now)
             if all(logged_pmf(p.decision, n) is not None for n in names)]
    if not pairs:
        raise NoEvidenceError(
            f"no logged decision with a pmf of {', '.join(map(repr, names))} whose reward window "
            "has closed; serve traffic with them (a challenger in shadow) and try again later")
    batches = [b for b in record_batches(pairs, PARQUET) if b.num_rows]
    log = read_batches(batches, log_schema(PARQUET), source="the decision log")
    by_event = {p.decision.event_id: p.decision for p in pairs}
    decisions = [by_event[str(e)] for e in log.event_id]
    targets = {}
    for name in names:
        target = np.zeros(log.candidates.shape, dtype=np.float64)
        for i, d in enumerate(decisions):
            pmf = dict(zip(d.candidates, logged_pmf(d, name)))  # type: ignore[arg-type]
            for k, candidate in enumerate(log.candidate_names(i)):
                target[i, k] = pmf[candidate]
        targets[name] = target
    return PolicyLog(log, targets, decisions)
