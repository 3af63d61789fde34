"""An artwork's provenance for the gallery: its audit trail as sentences (who, when, what, from where)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from artwork.audit import AuditEntry

from api.web.current import services


@dataclass(frozen=True)
class HistoryLine:
    """One change of an artwork, said plainly."""

    at: float
    actor: str
    origin: str
    what: str


def _what(entry: AuditEntry) -> str:
    detail: dict[str, Any] = entry.detail
    if entry.action == "upload":
        if detail.get("source") == "video":
            where = [f"at {detail['frame_time']:.1f} s"] if detail.get("frame_time") is not None else []
            where += [f"shot {detail['shot']}"] if detail.get("shot") is not None else []
            return f"extracted from a video ({', '.join(where) or 'frame'}) as {detail.get('file')}"
        return f"uploaded as {detail.get('file')}"
    if entry.action == "status":
        return f"{detail.get('from')} → {detail.get('to')}"
    if entry.action == "default":
        return "made the title's default" if detail.get("default") else "no longer the default"
    return entry.action


def artwork_history(artwork_id: str) -> list[HistoryLine]:
    """The recorded changes of one artwork, oldest first, as the gallery shows them."""
    return [HistoryLine(e.at, e.actor, e.origin, _what(e))
            for e in services().store.audit_for(artwork_id)]
