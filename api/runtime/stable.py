"""A stable artwork per user (`stable_for`): a user who asks again for a title within that many
seconds of its decision is shown the same artwork, as a repeat of that decision.

A repeat is not a new decision: it carries the original's event id and probability, so the
feedback it brings is credited to the original, and the offline estimators, which take each
logged decision as one unit, stay unbiased (the unit is "the artwork chosen for this user and
title for this period"). The original is found in this process's memory first (it may not be
ingested yet), then among the ingested decisions; a decision another worker made less than a
journal-ingest pass ago is not seen, and the user gets a new decision of its own, logged as
any other, so nothing is biased, only less stable for that moment.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

from artwork.records import LoggedDecision
from artwork.store import Store

# Decisions remembered in a process (least recently made forgotten first); older ones are
# found in the decision log.
REMEMBERED = 100_000


class StableChoices:
    """Finds the decision a user's request repeats, for each title, within `seconds`."""

    def __init__(self, store: Store, seconds: float, remembered: int = REMEMBERED) -> None:
        self.store = store
        self.seconds = seconds
        self._remembered = remembered
        self._recent: OrderedDict[tuple[str, str], LoggedDecision] = OrderedDict()
        self._lock = threading.Lock()  # a worker's threads share the memory

    def find(self, user_id: str, title_ids: Sequence[str], now: float) -> dict[str, LoggedDecision]:
        """The decision still in force for each of these titles (titles without one are left out)."""
        since = now - self.seconds
        found, missing = {}, []
        with self._lock:
            for title in title_ids:
                d = self._recent.get((user_id, title))
                if d is not None and d.timestamp >= since:
                    found[title] = d
                else:
                    missing.append(title)
        if missing:
            found.update(self.store.latest_decisions_for_user(user_id, missing, since))
        return found

    def remember(self, decisions: Sequence[LoggedDecision]) -> None:
        """Keep decisions just made (and journaled) for their users' next requests."""
        recent = self._recent
        with self._lock:
            for d in decisions:
                key = (d.user_id, d.title_id)
                recent[key] = d
                recent.move_to_end(key)
            while len(recent) > self._remembered:
                recent.popitem(last=False)


def repeats(decision: LoggedDecision, policy_name: str, candidate_ids: Sequence[str]) -> bool:
    """Whether a request may repeat `decision`: made by the policy serving the user now (not
    before an experiment put them in another arm or a promotion) and its artwork still a candidate."""
    return decision.policy == policy_name and decision.action in candidate_ids
