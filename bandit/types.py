"""The bandit's own records: who asks, what can be shown, and what was chosen."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from bandit.errors import InvalidRecordError


@dataclass(frozen=True)
class Context:
    """One impression's context: the user, the title, and what we know of both."""

    user_id: str
    title_id: str
    features: Mapping[str, str | float] = field(default_factory=dict)
    genre_affinity: Mapping[str, float] = field(default_factory=dict)
    title_genres: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict that `Context.from_dict` turns back into an equal Context."""
        return {
            "user_id": self.user_id,
            "title_id": self.title_id,
            "features": dict(self.features),
            "genre_affinity": {k: float(v) for k, v in self.genre_affinity.items()},
            "title_genres": list(self.title_genres),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Context":
        """Rebuild a Context from `to_dict` output (e.g. a logged decision's JSON context)."""
        _require_keys(data, ("user_id", "title_id"), "context")
        return cls(
            user_id=str(data["user_id"]),
            title_id=str(data["title_id"]),
            features=dict(data.get("features") or {}),
            genre_affinity={k: float(v) for k, v in (data.get("genre_affinity") or {}).items()},
            title_genres=tuple(data.get("title_genres") or ()),
        )


@dataclass(frozen=True)
class Action:
    """One candidate artwork and its features."""

    id: str
    features: Mapping[str, float] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    embedding: tuple[float, ...] = ()
    is_default: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict that `Action.from_dict` turns back into an equal Action."""
        return {
            "id": self.id,
            "features": {k: float(v) for k, v in self.features.items()},
            "tags": list(self.tags),
            "embedding": [float(v) for v in self.embedding],
            "is_default": bool(self.is_default),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Action":
        """Rebuild an Action from `to_dict` output."""
        _require_keys(data, ("id",), "action")
        return cls(
            id=str(data["id"]),
            features={k: float(v) for k, v in (data.get("features") or {}).items()},
            tags=tuple(data.get("tags") or ()),
            embedding=tuple(float(v) for v in (data.get("embedding") or ())),
            is_default=bool(data.get("is_default", False)),
        )


@dataclass(frozen=True)
class Decision:
    """A served choice with what offline evaluation needs later."""

    event_id: str
    action_ids: tuple[str, ...]
    pmf: tuple[float, ...]
    chosen: int
    policy: str
    model_version: int

    @property
    def probability(self) -> float:
        return self.pmf[self.chosen]

    @property
    def action_id(self) -> str:
        return self.action_ids[self.chosen]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict that `Decision.from_dict` turns back into an equal Decision."""
        return {
            "event_id": self.event_id,
            "action_ids": list(self.action_ids),
            "pmf": list(self.pmf),
            "chosen": self.chosen,
            "policy": self.policy,
            "model_version": self.model_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Decision":
        """Rebuild a Decision from `to_dict` output."""
        _require_keys(data, ("event_id", "action_ids", "pmf", "chosen", "policy"), "decision")
        return cls(
            event_id=str(data["event_id"]),
            action_ids=tuple(str(a) for a in data["action_ids"]),
            pmf=tuple(float(p) for p in data["pmf"]),
            chosen=int(data["chosen"]),
            policy=str(data["policy"]),
            model_version=int(data.get("model_version", 0)),
        )


def _require_keys(data: Mapping[str, Any], keys: tuple[str, ...], what: str) -> None:
    if not isinstance(data, Mapping):
        raise InvalidRecordError(
            f"{what} must be a mapping (from {what.capitalize()}.to_dict()), got {type(data).__name__}"
        )
    missing = [k for k in keys if k not in data]
    if missing:
        raise InvalidRecordError(
            f"{what} dict is missing {', '.join(missing)}; build it with {what.capitalize()}.to_dict()"
        )
