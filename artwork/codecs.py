"""Row codecs: titles, artworks and decisions to and from database rows and journal lines."""
from __future__ import annotations

import json
from typing import Any

import orjson

from artwork.eligibility import eligibility_from_text, eligibility_text
from artwork.records import Artwork, LoggedDecision, Title

TITLE_COLUMNS = ("id", "name", "genres", "created")
ARTWORK_COLUMNS = (
    "id", "title_id", "path", "source", "frame_time", "frame_index", "shot", "width", "height",
    "quality", "tags", "embedding", "embedder", "status", "is_default", "created", "eligibility",
)
DECISION_COLUMNS = (
    "event_id", "timestamp", "user_id", "title_id", "context", "candidates", "pmf", "action",
    "probability", "policy", "model_version", "action_keys", "shadow",
)
# Journal lines written before schema version 4 hold two values fewer (no action_keys),
# those written before shadow pmfs were logged one fewer.
V3_LINE_WIDTH = len(DECISION_COLUMNS) - 2
V4_LINE_WIDTH = len(DECISION_COLUMNS) - 1


def columns_sql(columns: tuple[str, ...], prefix: str = "") -> str:
    """The column list of a SELECT or INSERT (each name after `prefix`, e.g. "d.")."""
    return ", ".join(prefix + c for c in columns)


def sorted_json(value: Any) -> str:
    """JSON text with sorted keys and no spaces (catalog fields)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


_json_compact = json.JSONEncoder(separators=(",", ":")).encode


def compact_json(value: Any) -> str:
    """Compact JSON text of a decision's parts and journal lines.

    orjson writes these several times faster than json (a pmf's floats above all), and
    this runs several times for every decision served.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:  # what orjson refuses and json takes: integers past 64 bits, int keys
        return _json_compact(value)


_TUPLE_JSON: dict[tuple[str, ...], str] = {}


def tuple_json(values: tuple[str, ...]) -> str:
    """JSON text of a tuple of ids, each tuple encoded once (a title's candidates repeat)."""
    text = _TUPLE_JSON.get(values)
    if text is None:
        if len(_TUPLE_JSON) >= 10_000:
            _TUPLE_JSON.clear()
        text = _TUPLE_JSON[values] = compact_json(values)
    return text


def title_row(t: Title) -> list[Any]:
    """A title as a row of TITLE_COLUMNS."""
    return [t.id, t.name, sorted_json(list(t.genres)), t.created]


def title_from_row(row: tuple) -> Title:
    """A title from a row of TITLE_COLUMNS."""
    return Title(row[0], row[1], tuple(json.loads(row[2] or "[]")), row[3] or 0.0)


def artwork_row(a: Artwork) -> list[Any]:
    """An artwork as a row of ARTWORK_COLUMNS."""
    import numpy as np  # here, not at the top: listing titles needs no numpy

    embedding = None if a.embedding is None else a.embedding.astype(np.float32).tobytes()
    return [
        a.id, a.title_id, a.path, a.source, a.frame_time, a.frame_index, a.shot, a.width,
        a.height, sorted_json(dict(a.quality)), sorted_json(list(a.tags)), embedding,
        a.embedder, a.status, int(a.is_default), a.created, eligibility_text(a.eligibility),
    ]


def artwork_from_row(row: tuple) -> Artwork:
    """An artwork from a row of ARTWORK_COLUMNS."""
    import numpy as np  # here, not at the top: listing titles needs no numpy

    r = dict(zip(ARTWORK_COLUMNS, row))
    emb = r["embedding"]
    return Artwork(
        id=r["id"],
        title_id=r["title_id"],
        path=r["path"],
        source=r["source"],
        width=r["width"],
        height=r["height"],
        status=r["status"],
        is_default=bool(r["is_default"]),
        frame_time=r["frame_time"],
        frame_index=r["frame_index"],
        shot=r["shot"],
        quality=json.loads(r["quality"] or "{}"),
        tags=tuple(json.loads(r["tags"] or "[]")),
        embedding=None if emb is None else np.frombuffer(emb, dtype=np.float32).copy(),
        embedder=r["embedder"],
        created=r["created"] or 0.0,
        eligibility=eligibility_from_text(r["eligibility"]),
    )


def decision_row(d: LoggedDecision) -> list[Any]:
    """A decision as a row of DECISION_COLUMNS (also the journal's line, as JSON)."""
    return [
        d.event_id,
        d.timestamp,
        d.user_id,
        d.title_id,
        compact_json(d.context),
        tuple_json(tuple(d.candidates)),
        compact_json(d.pmf),
        d.action,
        float(d.probability),
        d.policy,
        int(d.model_version),
        tuple_json(tuple(d.action_keys)) if d.action_keys else None,
        compact_json(d.shadow) if d.shadow else None,
    ]


def decision_from_row(row: tuple) -> LoggedDecision:
    """A decision from a row of DECISION_COLUMNS."""
    return LoggedDecision(
        event_id=row[0],
        timestamp=row[1],
        user_id=row[2],
        title_id=row[3],
        context=json.loads(row[4] or "{}"),
        candidates=tuple(json.loads(row[5])),
        pmf=tuple(json.loads(row[6])),
        action=row[7],
        probability=row[8],
        policy=row[9],
        model_version=row[10],
        action_keys=tuple(json.loads(row[11])) if row[11] else (),
        shadow=shadow_from_text(row[12]),
    )


def shadow_from_text(text: str | None) -> dict[str, tuple[float, ...]]:
    """The shadow pmfs of a decision from their JSON text (None: no shadow)."""
    return {name: tuple(pmf) for name, pmf in json.loads(text).items()} if text else {}
