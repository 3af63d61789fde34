"""The one translation between logged decisions (the store's records) and the bandit's types.

Serving turns what a policy decided into the record it logs (`to_logged`); the learner and
offline evaluation turn logged records back into what the policy saw (`from_logged`,
`context_from_logged`). Each candidate is logged with the key of its description (`describe`),
so the learner learns from the actions as they were served, not as the catalog holds them now.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping

import orjson

from artwork.records import LoggedDecision
from bandit.errors import InvalidRecordError
from bandit.types import Action, Context, Decision

__all__ = ["action_from_description", "context_from_logged", "describe", "from_logged", "to_logged"]

# Bytes of the description digest kept in a key: 64 bits, ample for the descriptions one
# catalog will ever hold.
_KEY_BYTES = 8


def describe(action: Action) -> tuple[str, str]:
    """(key, description) of an action: its canonical JSON text and a short digest of it."""
    text = orjson.dumps(action.to_dict(), option=orjson.OPT_SORT_KEYS).decode()
    return hashlib.blake2b(text.encode(), digest_size=_KEY_BYTES).hexdigest(), text


def action_from_description(text: str) -> Action:
    """The action a description (from `describe`) was made of."""
    try:
        return Action.from_dict(orjson.loads(text))
    except orjson.JSONDecodeError as exc:
        raise InvalidRecordError(f"an action description is not JSON ({exc})") from None


def to_logged(decision: Decision, context: Context, timestamp: float,
              action_keys: tuple[str, ...] = (),
              shadow: Mapping[str, tuple[float, ...]] | None = None) -> LoggedDecision:
    """The record to log for a decision a policy made in `context` (with its shadows' pmfs)."""
    chosen = decision.chosen
    return LoggedDecision(
        decision.event_id, timestamp, context.user_id, context.title_id, context.to_dict(),
        decision.action_ids, decision.pmf, decision.action_ids[chosen], decision.pmf[chosen],
        decision.policy, decision.model_version, action_keys, shadow or {},
    )


def context_from_logged(context: Mapping[str, Any], user_id: str, title_id: str) -> Context:
    """The bandit Context of a logged context object and the decision's user and title."""
    return Context.from_dict({**context, "user_id": user_id, "title_id": title_id})


def from_logged(logged: LoggedDecision, descriptions: Mapping[str, Action] | None = None,
                fallback: Mapping[str, Action] | None = None) -> tuple[Context, tuple[Action, ...], Decision]:
    """(context, candidate actions, decision) of a logged decision, as the policy saw them.

    Each candidate's action comes from `descriptions` (key -> action) by the key logged with
    it; a decision logged without keys (before they were recorded) takes `fallback` (artwork
    id -> action, e.g. today's catalog), and an artwork known to neither is a bare action.
    """
    context = context_from_logged(logged.context, logged.user_id, logged.title_id)
    descriptions = descriptions or {}
    fallback = fallback or {}
    keys: Iterable[str | None] = logged.action_keys or (None,) * len(logged.candidates)
    actions = tuple(
        descriptions.get(key) if key is not None and key in descriptions
        else fallback.get(artwork_id) or Action(id=artwork_id)
        for artwork_id, key in zip(logged.candidates, keys)
    )
    decision = Decision(logged.event_id, logged.candidates, logged.pmf,
                        logged.candidates.index(logged.action), logged.policy,
                        logged.model_version)
    return context, actions, decision
