"""The privacy API: erase what the logs hold about one viewer (`POST /erasures`, admins only)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from api.web.auth import require_role
from api.web.current import services
from api.web.requests import json_body
from api.web.schemas import validated

bp = Blueprint("privacy", __name__)


@bp.post("/erasures")
@require_role("admin")
def erase_user():
    body = validated("ErasureRequest", json_body())
    svc = services()
    erasure = svc.store.forget_user(body["user"])
    svc.engine.affinity.forget(body["user"])
    return jsonify({"id": erasure.id, "at": erasure.at}), 201
