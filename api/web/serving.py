"""The UI's API: choose artworks (`GET /artwork`) and report feedback (`POST /feedback`)."""
from __future__ import annotations

import math
import time
from typing import Any

import orjson
from flask import Blueprint, current_app, jsonify, request, url_for

from artwork.records import REWARD_KINDS, Reward

from api.errors import InvalidRequestError
from api.runtime.context import context_features
from api.web.current import services
from api.web.requests import check_text, json_body, query_lists

bp = Blueprint("serving", __name__)

# A row of titles (at most max_titles) with its impression, click and play fits with room to
# spare, and within the body limit of /feedback (SMALL_BODY_BYTES).
MAX_FEEDBACK_BATCH = 100

_IMAGE_URLS: dict[str, tuple[str, str]] = {}


def _image_url_parts(root: str) -> tuple[str, str]:
    """What url_for gives for an artwork's image, split around the id (once per script root).

    Artwork ids are checked to need no URL quoting, so joining the parts around an id
    gives url_for's answer without building the URL for every decision.
    """
    parts = _IMAGE_URLS.get(root)
    if parts is None:
        marker = "0artwork0"
        before, _, after = url_for("creatives.artwork_image", artwork_id=marker).partition(marker)
        parts = _IMAGE_URLS[root] = (before, after)
    return parts


@bp.get("/artwork")
def choose_artwork():
    svc = services()
    environ = request.environ
    params = query_lists(environ)
    user = params.get("user", ("",))[0]
    if not user.strip() or len(user) > 256:
        raise InvalidRequestError("parameter `user` is required: an opaque user id of 1 to 256 characters")
    check_text(user, "parameter `user`")
    titles = params.get("title", [])
    if not titles or not all(t.strip() for t in titles):
        raise InvalidRequestError("parameter `title` is required (repeat it for several titles)")
    if len(titles) > svc.config.max_titles:
        raise InvalidRequestError(f"at most {svc.config.max_titles} titles per request; got {len(titles)}")
    if len(set(titles)) != len(titles):
        raise InvalidRequestError("a title is named twice; name each title once")
    features = context_features(params, svc.config.context_params)
    placement = features.get("placement")
    if placement is not None and placement not in svc.config.placement_names:
        raise InvalidRequestError(f"parameter `placement` must be one of "
                                  f"{', '.join(svc.config.placement_names)}")
    served = svc.engine.decide(user, titles, features)
    before, after = _image_url_parts(environ.get("SCRIPT_NAME", ""))
    choices = []
    decided, repeated = svc.metrics.decided, svc.metrics.repeated
    for s in served:
        d = s.decision
        choices.append({
            "title_id": d.title_id, "event_id": d.event_id, "artwork_id": d.action,
            "image_url": (f"{before}{d.action}{after}" if s.crop is None
                          else url_for("crops.crop_image", name=s.crop.name)),
            "probability": d.probability, "policy": d.policy, "model_version": d.model_version,
            "repeat": s.repeat,
        })
        if s.repeat:
            repeated()
        else:
            decided(d.policy)
    # The first choice is repeated at the top level for single-title callers; the shape
    # is the same whatever the number of titles.
    # orjson: json's encoder took about a tenth of this view's time.
    body = orjson.dumps({**choices[0], "user": user, "choices": choices})
    return current_app.response_class(body + b"\n", mimetype="application/json")


def _feedback_items(body: Any) -> list[Any]:
    if isinstance(body, dict) and "events" in body:
        body = body["events"]
    items = body if isinstance(body, list) else [body]
    if not items:
        raise InvalidRequestError("no feedback events in the body")
    if len(items) > MAX_FEEDBACK_BATCH:
        raise InvalidRequestError(f"at most {MAX_FEEDBACK_BATCH} feedback events per request")
    return items


def _reward(item: Any, where: str, now: float) -> Reward:
    if not isinstance(item, dict):
        raise InvalidRequestError(f"{where} must be an object with event_id and kind")
    event_id, kind, value = item.get("event_id"), item.get("kind"), item.get("value")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidRequestError(f"{where}: `event_id` is required and must be a string")
    if kind not in REWARD_KINDS:
        raise InvalidRequestError(f"{where}: `kind` must be one of {', '.join(REWARD_KINDS)}")
    if value is not None:
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError
            value = float(value)  # an integer too large for a float raises OverflowError
            if not math.isfinite(value):
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            raise InvalidRequestError(f"{where}: `value` must be a finite number") from None
    unknown = set(item) - {"event_id", "kind", "value"}
    if unknown:
        raise InvalidRequestError(f"{where}: unknown field(s) {sorted(unknown)}")
    return Reward(event_id, now, kind, value)


@bp.post("/feedback")
def feedback():
    svc = services()
    now = time.time()
    items = _feedback_items(json_body())
    rewards = [_reward(item, f"event {i}" if len(items) > 1 else "the event", now)
               for i, item in enumerate(items)]
    added = svc.engine.feedback(rewards)
    for r, new in zip(rewards, added):
        if new:
            svc.metrics.recorded(r.kind)
    return jsonify({"recorded": sum(added), "duplicates": len(added) - sum(added)}), 202
