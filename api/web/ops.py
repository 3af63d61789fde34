"""Operations: health, per-title statistics, Prometheus metrics and the OpenAPI description."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api.errors import InvalidRequestError
from api.runtime.stats import title_stats
from api.web.current import services
from api.web.openapi import openapi_document

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


@bp.get("/stats")
def stats():
    title = request.args.get("title", "")
    if not title:
        raise InvalidRequestError("parameter `title` is required, e.g. /stats?title=T")
    return jsonify(title_stats(services().store, title))


@bp.get("/metrics")
def metrics():
    svc = services()
    svc.metrics.model_version.set(svc.engine.model_version)
    svc.metrics.journal_backlog.set(svc.store.journal_backlog())
    return Response(svc.metrics.render(), mimetype="text/plain; version=0.0.4")


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
