"""The creatives' API: titles, still uploads, video ingest jobs, artwork status and images."""
from __future__ import annotations

from flask import Blueprint, jsonify, send_file, url_for

from artwork.eligibility import eligibility_from

from api.errors import InvalidRequestError, UnknownIdError
from api.runtime.jobs import job_view
from api.runtime.serializers import artwork_dict, title_dict
from api.web.auth import require_role, signed_in_principal
from api.web.current import services
from api.web.errors import message_for, recorded_error, status_for
from api.web.requests import form_value, json_body, optional, uploaded_files
from api.web.schemas import validated

bp = Blueprint("creatives", __name__)
# How long a client may keep a live artwork's image: a day, so one retired since goes soon.
PUBLIC_IMAGE_SECONDS = 86400


def _job_json(job: dict):
    return jsonify({**job_view(job), "url": url_for("creatives.get_job", job_id=job["id"])})


def _artwork_json(art) -> dict:
    out = artwork_dict(art)
    out["image_url"] = url_for("creatives.artwork_image", artwork_id=art.id)
    return out


@bp.post("/titles")
@require_role("editor")
def create_title():
    body = validated("NewTitle", json_body())
    title = services().store.add_title(body["id"], body["name"], body.get("genres", []))
    return jsonify(title_dict(title)), 201


@bp.get("/titles")
@require_role("viewer")
def list_titles():
    return jsonify({"titles": [title_dict(t) for t in services().store.list_titles()]})


@bp.get("/titles/<title_id>")
@require_role("viewer")
def get_title(title_id: str):
    store = services().store
    title = store.get_title(title_id)
    artworks = [_artwork_json(a) for a in store.list_artworks(title_id)]
    return jsonify({**title_dict(title), "artworks": artworks})


@bp.post("/titles/<title_id>/artworks")
@require_role("editor")
def upload_stills(title_id: str):
    svc = services()
    svc.store.get_title(title_id)
    files = uploaded_files("file", "files")
    if not files:
        raise InvalidRequestError("send the stills as multipart/form-data fields named `file`")
    outcomes, job = svc.jobs.ingest_stills(title_id,
                                           [(f.filename or "upload", f.stream) for f in files])
    if job is not None:  # the ingest worker has not finished within the wait: poll the job
        return _job_json(job), 202
    errors = [None if r.artwork_id else recorded_error(r.error or "", r.error_type)
              for r in outcomes]
    results = [
        {"file": r.file, "ok": True, "artwork": _artwork_json(svc.store.get_artwork(r.artwork_id))}
        if e is None else {"file": r.file, "ok": False, "error": message_for(e)}
        for r, e in zip(outcomes, errors)
    ]
    failed = [e for e in errors if e is not None]
    if len(failed) == len(outcomes):
        # Nothing stored: the usual error shape, with each file's reason beside it.
        status = max(status_for(e) for e in failed)
        message = "; ".join(message_for(e) for e in failed)
        return jsonify({"error": message, "status": status, "results": results}), status
    status = 201 if not failed else 207
    added = len(outcomes) - len(failed)
    return jsonify({"results": results, "added": added, "failed": len(failed)}), status


@bp.post("/titles/<title_id>/videos")
@require_role("editor")
def upload_video(title_id: str):
    svc = services()
    svc.store.get_title(title_id)
    uploads = uploaded_files("file")
    if not uploads:
        raise InvalidRequestError("send the video as a multipart/form-data field named `file`")
    max_candidates = optional({"max_candidates": form_value("max_candidates")},
                              "max_candidates", int, 8)
    if not 1 <= max_candidates <= 100:
        raise InvalidRequestError("max_candidates must be between 1 and 100")
    f = uploads[0]
    job = svc.jobs.submit_video(title_id, f.stream, f.filename or "video",
                                max_candidates=max_candidates)
    return _job_json(job), 202


@bp.get("/jobs/<job_id>")
@require_role("viewer")
def get_job(job_id: str):
    return jsonify(job_view(services().jobs.get(job_id)))


@bp.patch("/artworks/<artwork_id>")
@require_role("editor")
def update_artwork(artwork_id: str):
    body = validated("ArtworkChange", json_body())
    if not body:
        raise InvalidRequestError("send `status` (candidate, live, retired), `default` (true) "
                                  "and/or `eligibility` (rules)")
    store = services().store
    art = store.get_artwork(artwork_id)
    status, default = body.get("status"), body.get("default")
    rules = eligibility_from(body["eligibility"]) if "eligibility" in body else None
    if status is not None:
        art = store.set_status(artwork_id, status, max_live=services().config.max_live)
    if default is not None:
        art = store.set_default(artwork_id, default)
    if rules is not None:
        art = store.set_eligibility(artwork_id, rules)
    services().catalog.invalidate(art.title_id)
    return jsonify(_artwork_json(art))


@bp.delete("/artworks/<artwork_id>")
@require_role("editor")
def delete_artwork(artwork_id: str):
    art = services().store.delete_artwork(artwork_id)
    services().catalog.invalidate(art.title_id)
    return jsonify({"deleted": art.id, "title_id": art.title_id})


@bp.get("/artworks/<artwork_id>/image")
def artwork_image(artwork_id: str):
    # A live artwork is public (the UI shows it to everyone); the others only to signed-in
    # users, and never kept by a cache, so a retired picture does not linger anywhere.
    store = services().store
    art = store.get_artwork(artwork_id)
    live = art.status == "live"
    if not live and signed_in_principal() is None:
        raise UnknownIdError(f"no artwork {artwork_id!r} is live; sign in to see the others")
    path = store.image_path(art)
    if not path.is_file():
        raise UnknownIdError(f"the image file of artwork {artwork_id} is missing")
    mimetype = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}[path.suffix]
    response = send_file(path, mimetype=mimetype, etag=art.id, conditional=live,
                         max_age=PUBLIC_IMAGE_SECONDS if live else None)
    if live:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
        response.cache_control.no_store = True
    return response
