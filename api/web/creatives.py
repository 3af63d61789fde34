"""The creatives' API: titles, still uploads, video ingest jobs, artwork status and images."""
from __future__ import annotations

from flask import Blueprint, jsonify, send_file, url_for

from artwork.records import ARTWORK_STATUSES

from api.errors import InvalidRequestError, UnknownIdError
from api.runtime.jobs import job_view
from api.runtime.serializers import artwork_dict, title_dict
from api.web.auth import require_token
from api.web.current import services
from api.web.errors import message_for, recorded_error, status_for
from api.web.requests import (
    form_value,
    json_body,
    json_object,
    optional,
    required_str,
    string_list,
    uploaded_files,
)

bp = Blueprint("creatives", __name__)


def _job_json(job: dict):
    return jsonify({**job_view(job), "url": url_for("creatives.get_job", job_id=job["id"])})


def _artwork_json(art) -> dict:
    out = artwork_dict(art)
    out["image_url"] = url_for("creatives.artwork_image", artwork_id=art.id)
    return out


@bp.post("/titles")
@require_token
def create_title():
    body = json_body()
    title = services().store.add_title(
        required_str(body, "id"), required_str(body, "name"),
        string_list(body, "genres"),
    )
    return jsonify(title_dict(title)), 201


@bp.get("/titles")
@require_token
def list_titles():
    return jsonify({"titles": [title_dict(t) for t in services().store.list_titles()]})


@bp.get("/titles/<title_id>")
@require_token
def get_title(title_id: str):
    store = services().store
    title = store.get_title(title_id)
    artworks = [_artwork_json(a) for a in store.list_artworks(title_id)]
    return jsonify({**title_dict(title), "artworks": artworks})


@bp.post("/titles/<title_id>/artworks")
@require_token
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
@require_token
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
@require_token
def get_job(job_id: str):
    return jsonify(job_view(services().jobs.get(job_id)))


@bp.patch("/artworks/<artwork_id>")
@require_token
def update_artwork(artwork_id: str):
    body = json_object()
    unknown = set(body) - {"status", "default"}
    if unknown:
        raise InvalidRequestError(f"unknown field(s) {sorted(unknown)}; send `status` and/or `default`")
    if not body:
        raise InvalidRequestError("send `status` (candidate, live, retired) and/or `default` (true)")
    store = services().store
    art = store.get_artwork(artwork_id)
    status = body.get("status")
    if status is not None and status not in ARTWORK_STATUSES:
        raise InvalidRequestError(f"status must be one of {', '.join(ARTWORK_STATUSES)}")
    default = body.get("default")
    if default is not None and not isinstance(default, bool):
        raise InvalidRequestError("default must be true or false")
    if status is not None:
        art = store.set_status(artwork_id, status, max_live=services().config.max_live)
    if default is not None:
        art = store.set_default(artwork_id, default)
    services().catalog.invalidate(art.title_id)
    return jsonify(_artwork_json(art))


@bp.get("/artworks/<artwork_id>/image")
def artwork_image(artwork_id: str):
    store = services().store
    art = store.get_artwork(artwork_id)
    path = store.image_path(art)
    if not path.is_file():
        raise UnknownIdError(f"the image file of artwork {artwork_id} is missing")
    mimetype = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}[path.suffix]
    response = send_file(path, mimetype=mimetype, etag=art.id, conditional=True, max_age=31536000)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
