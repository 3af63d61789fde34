"""Operations: health, per-title statistics, Prometheus metrics and the OpenAPI description."""
from __future__ import annotations

import math

from flask import Blueprint, Response, jsonify, request

from api.errors import BadRequest
from api.openapi import openapi_document
from api.services import services

bp = Blueprint("ops", __name__)


@bp.get("/ping")
def ping():
    return jsonify({"ok": True})


@bp.get("/healthz")
def healthz():
    svc = services()
    svc.store.count_titles()
    return jsonify({
        "status": "ok",
        "policy": svc.engine.policy_name,
        "model_version": svc.engine.model_version,
        "learning": svc.engine.learning,
    })


def _rate_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float, float]:
    """Take rate with its Wilson score interval."""
    if trials == 0:
        return 0.0, 0.0, 0.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def title_stats(title_id: str) -> dict:
    """Impressions, clicks, plays and take rate per artwork and per policy for one title."""
    rows = services().store.artwork_stats(title_id)
    by_artwork: dict[str, dict] = {}
    by_policy: dict[str, dict] = {}
    for row in rows:
        for key, table in ((row["artwork_id"], by_artwork), (row["policy"], by_policy)):
            agg = table.setdefault(key, {"decisions": 0, "impressions": 0, "clicks": 0, "plays": 0})
            for k in agg:
                agg[k] += row[k]
    total = sum(a["decisions"] for a in by_artwork.values())

    def finish(key_name: str, table: dict) -> list[dict]:
        out = []
        for key, agg in sorted(table.items()):
            rate, low, high = _rate_interval(agg["plays"], agg["decisions"])
            out.append({key_name: key, **agg, "take_rate": rate, "take_rate_low": low,
                        "take_rate_high": high,
                        "share": agg["decisions"] / total if total else 0.0})
        return out

    return {"title_id": title_id, "decisions": total,
            "artworks": finish("artwork_id", by_artwork),
            "policies": finish("policy", by_policy)}


@bp.get("/stats")
def stats():
    title = request.args.get("title", "")
    if not title:
        raise BadRequest("parameter `title` is required, e.g. /stats?title=T")
    return jsonify(title_stats(title))


@bp.get("/metrics")
def metrics():
    svc = services()
    svc.metrics.model_version.set(svc.engine.model_version)
    svc.metrics.journal_backlog.set(svc.store.journal_backlog())
    return Response(svc.metrics.render(), mimetype="text/plain; version=0.0.4")


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
