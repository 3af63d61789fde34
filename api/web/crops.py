"""Crops per placement: the rendered images (content-addressed, cached for good once public) and
the creatives' view of each artwork's crop boxes, which they may adjust or propose again."""
from __future__ import annotations

import re

from flask import Blueprint, jsonify, send_file, url_for

from artwork.crops import Crop, path_of_name
from vision.crops import parse_placements
from vision.placements import adjust_crop, crop_artworks, crops_of, placement_named

from api.errors import UnknownIdError
from api.web.auth import require_role, signed_in_principal
from api.web.current import services
from api.web.requests import json_body
from api.web.schemas import validated

bp = Blueprint("crops", __name__)
CROP_NAME = re.compile(r"[0-9a-f]{20}\.jpg")
# A crop's URL names its content: the same URL never holds other bytes, so it may be kept.
IMMUTABLE_SECONDS = 365 * 86400


def _placements():
    return parse_placements(services().config.placements)


def _crops_json(artwork_id: str, crops: dict[str, Crop]):
    return jsonify({"artwork_id": artwork_id, "crops": [
        {**c.as_dict(), "image_url": url_for("crops.crop_image", name=c.name) if c.serves else None}
        for _, c in sorted(crops.items())]})


@bp.get("/crops/<name>")
def crop_image(name: str):
    # As an artwork's own image: public while the artwork is live, else only signed in.
    store = services().store
    crop = store.crops.by_path(path_of_name(name)) if CROP_NAME.fullmatch(name) else None
    if crop is None:
        raise UnknownIdError(f"no crop {name!r}")
    live = store.get_artwork(crop.artwork_id).status == "live"
    if not live and signed_in_principal() is None:
        raise UnknownIdError(f"no crop {name!r} of a live artwork; sign in to see the others")
    path = store.images.local_path(crop.path)
    if not path.is_file():
        raise UnknownIdError(f"the file of crop {name} is missing")
    response = send_file(path, mimetype="image/jpeg", etag=name.split(".")[0], conditional=True,
                         max_age=IMMUTABLE_SECONDS if live else None)
    if live:
        response.cache_control.public = True
        response.cache_control.immutable = True
    else:
        response.cache_control.private = True
        response.cache_control.no_store = True
    return response


@bp.get("/artworks/<artwork_id>/crops")
@require_role("viewer")
def list_crops(artwork_id: str):
    return _crops_json(artwork_id, crops_of(services().store, artwork_id))


@bp.post("/artworks/<artwork_id>/crops")
@require_role("editor")
def propose_crops(artwork_id: str):
    svc = services()
    art = svc.store.get_artwork(artwork_id)
    crops = crop_artworks(svc.store, [art], _placements())[art.id]
    svc.catalog.invalidate(art.title_id)
    return _crops_json(artwork_id, crops)


@bp.put("/artworks/<artwork_id>/crops/<placement>")
@require_role("editor")
def set_crop(artwork_id: str, placement: str):
    body = validated("CropChange", json_body())
    svc = services()
    crop = adjust_crop(svc.store, artwork_id, placement_named(_placements(), placement),
                       tuple(body["box"]))
    svc.catalog.invalidate(svc.store.get_artwork(artwork_id).title_id)
    return jsonify({**crop.as_dict(), "image_url": url_for("crops.crop_image", name=crop.name)})
