"""Operations: liveness, readiness, per-title statistics, Prometheus metrics, the OpenAPI description."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api.errors import InvalidRequestError
from api.runtime.health import model_state, readiness
from api.runtime import experiments
from api.runtime.stats import title_stats
from api.web.auth import require_role
from api.web.current import services
from api.web.errors import public
from api.web.openapi import openapi_document

bp = Blueprint("ops", __name__)


@bp.get("/ping")
def ping():
    return jsonify({"ok": True})


@bp.get("/healthz")
def healthz():
    # Liveness: this process answers. It says which model serves, and why when it is the
    # untrained (exploratory) policy; whether the service is ready is /readyz's to say.
    svc = services()
    return jsonify({"status": "ok", "policy": svc.engine.policy_name,
                    "learning": svc.engine.learning, **model_state(svc)})


@bp.get("/readyz")
def readyz():
    checks = readiness(services())
    ready = all(c.ok for c in checks)
    body = {"ready": ready,
            "checks": {c.name: {"ok": c.ok, "detail": public(c.detail)} for c in checks}}
    return jsonify(body), 200 if ready else 503


@bp.get("/stats")
@require_role("viewer")
def stats():
    # Behind sign-in: per-artwork performance is the business's to see, and each
    # call aggregates the title's whole log.
    title = request.args.get("title", "")
    if not title:
        raise InvalidRequestError("parameter `title` is required, e.g. /stats?title=T")
    return jsonify(title_stats(services().store, title))


@bp.get("/stats/experiments/<name>")
@require_role("viewer")
def experiment_stats(name: str):
    # Per arm: decisions and take rate; the difference between arms with its always-valid
    # confidence sequence (see api/runtime/experiments.py).
    svc = services()
    return jsonify(experiments.experiment_stats(
        svc.store, name, window=svc.config.reward_window, reward_of=svc.config.reward_mapping))


@bp.get("/metrics")
def metrics():
    return Response(services().metrics.render(), mimetype="text/plain; version=0.0.4")


@bp.get("/openapi.json")
def openapi():
    config = services().config
    return jsonify(openapi_document(config.max_titles, config.context_params,
                                    config.placement_names))
