"""The OpenAPI 3.1 description served at /openapi.json, built from the schemas the views
validate with (api/web/schemas.py) and the limits the server enforces.

Every operation has an operationId and documents every status it can answer with; the
contract test (schemathesis against a live server) holds the server to it.
"""
from __future__ import annotations

from typing import Any

from artwork.eligibility import MATURITY_LEVELS

from api.config import Config
from api.runtime.context import MAX_VALUE_LENGTH
from api.web.requests import SMALL_BODY_BYTES
from api.web.schemas import ID, SCHEMAS

_ERROR_TEXT = {
    400: "Bad request: the message says which parameter or field, and why",
    401: "No credentials: send `Authorization: Bearer TOKEN` (a user's API token)",
    403: "A wrong or revoked token, or a role that does not allow this",
    404: "Not found",
    408: "The request body did not arrive in time",
    409: "Already exists, or conflicts with what exists (e.g. too many live artworks)",
    413: f"Body over this route's limit ({SMALL_BODY_BYTES} bytes except on the upload routes)",
    422: "An image that cannot serve as artwork",
    429: "Too many failed sign-ins from this client within a minute: wait Retry-After seconds",
    503: "Not ready, or nothing can be written (a full disk); see Retry-After",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                                "schema": {"type": "integer", "minimum": 1}}}
_TEXT = "^[^\\u0000-\\u001f\\u007f]*$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: str, status: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": _ref(schema)}}}
    if status == 429:
        out["headers"] = {**_RETRY_AFTER}
    return out


def _errors(*codes: int, schema: str = "Error") -> dict[str, Any]:
    return {str(c): _json(_ERROR_TEXT[c], schema, c) for c in codes}


def _query(name: str, description: str, schema: dict[str, Any], required: bool = False,
           **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema, **extra}


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {k: v for k, v in ID.items() if k != "description"}}


def _op(operation_id: str, summary: str, responses: dict[str, Any], *,
        role: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    if role is not None:
        out["security"] = [{"bearer": []}]
        out["description"] = f"Needs a user's API token with at least the `{role}` role."
        responses = {**responses, **_errors(401, 403, 429, 503)}
    return {**out, **extra, "responses": responses}


def _json_body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


def _context_parameters(names: tuple[str, ...], placements: tuple[str, ...]) -> list[dict[str, Any]]:
    words = {"device": "device class, e.g. tv, mobile, web", "country": "two-letter country code",
             "row": "row of the home page the titles are in",
             "language": "the profile's language, e.g. de or pt-BR (artworks limited to other "
                         "languages are not candidates)",
             "page": "the page of the UI, e.g. home"}
    out = []
    for name in names:
        if name == "hour":
            out.append(_query("hour", "local hour 0-23",
                              {"type": "integer", "minimum": 0, "maximum": 23}))
        elif name == "placement" and placements:
            out.append(_query("placement", "the shape the artwork is shown in: only artworks with "
                              "a crop for it are candidates, and `image_url` is that crop",
                              {"enum": list(placements)}))
        elif name == "maturity":
            out.append(_query("maturity", "the profile's maturity ceiling: artworks rated above "
                              "it are not candidates (without it, only artworks rated "
                              f"`{MATURITY_LEVELS[0]}` or unrated are)", {"enum": list(MATURITY_LEVELS)}))
        else:
            out.append(_query(name, words.get(name, "a context value"),
                              {"type": "string", "minLength": 1, "maxLength": MAX_VALUE_LENGTH,
                               "pattern": _TEXT}))
    return out


def _paths(max_titles: int, context_params: tuple[str, ...],
           placements: tuple[str, ...]) -> dict[str, Any]:
    title_id, job_id, artwork_id = (_path("title_id", "title id"), _path("job_id", "job id"),
                                    _path("artwork_id", "artwork id"))
    images = {m: {"schema": {"type": "string", "format": "binary"}}
              for m in ("image/jpeg", "image/png", "image/webp")}
    return {
        "/artwork": {"get": _op(
            "chooseArtwork", "Choose the artwork to show for each title (one logged decision each)",
            {"200": _json("One decision per title", "Choices"), **_errors(400, 404, 503)},
            parameters=[
                _query("user", "opaque user id (unknown users are served)",
                       {"type": "string", "minLength": 1, "maxLength": 256, "pattern": _TEXT},
                       True, example="u-42"),
                _query("title", f"title id; repeat for a row of titles (at most {max_titles})",
                       {"type": "array", "minItems": 1, "maxItems": max_titles,
                        "uniqueItems": True, "items": {"type": "string", "minLength": 1}},
                       True, style="form", explode=True, example=["night-train"]),
                *_context_parameters(context_params, placements),
            ])},
        "/feedback": {"post": _op(
            "reportFeedback", "Report impression, click or play for served decisions "
            "(idempotent per event and kind)",
            {"202": _json("Recorded (new ones and repeats counted)", "FeedbackRecorded"),
             **_errors(400, 404, 413, 503)},
            requestBody=_json_body("FeedbackBody"))},
        "/titles": {
            "get": _op("listTitles", "List titles", {"200": _json("Titles", "Titles")},
                       role="viewer"),
            "post": _op("createTitle", "Create a title",
                        {"201": _json("Created", "Title"), **_errors(400, 409, 413)},
                        role="editor", requestBody=_json_body("NewTitle")),
        },
        "/titles/{title_id}": {"get": _op(
            "getTitle", "A title with its artworks",
            {"200": _json("Title", "TitleWithArtworks"), **_errors(400, 404)},
            role="viewer", parameters=[title_id])},
        "/titles/{title_id}/artworks": {"post": _op(
            "uploadStills", "Upload stills (multipart field `file`, repeatable); per-file results "
            "once the ingest worker has them, else 202 with the job to poll",
            {"201": _json("All stored", "UploadResults"),
             "207": _json("Some stored", "UploadResults"),
             "202": _json("Still being ingested: poll the job's url", "Job"),
             **_errors(400, 409, 413, 422, schema="UploadRefused"), **_errors(404, 408)},
            role="editor", parameters=[title_id],
            requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {"file": {
                    "type": "array", "minItems": 1,
                    "items": {"type": "string", "format": "binary"}}}}}}})},
        "/titles/{title_id}/videos": {"post": _op(
            "uploadVideo", "Upload a video; starts a background ingest job",
            {"202": _json("Job queued", "Job"), **_errors(400, 404, 408, 413)},
            role="editor", parameters=[title_id],
            requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "max_candidates": {"type": "integer", "minimum": 1, "maximum": 100,
                                       "default": 8}}}}}})},
        "/jobs/{job_id}": {"get": _op(
            "getJob", "Progress and result of an ingest job",
            {"200": _json("Job", "Job"), **_errors(404)}, role="viewer", parameters=[job_id])},
        "/artworks/{artwork_id}": {
            "patch": _op(
                "updateArtwork", "Change an artwork's status, default flag and/or eligibility "
                "rules (audited)",
                {"200": _json("Updated artwork", "Artwork"), **_errors(400, 404, 409, 413)},
                role="editor", parameters=[artwork_id], requestBody=_json_body("ArtworkChange")),
            "delete": _op(
                "deleteArtwork", "Delete an artwork for good: image file and catalog row "
                "(audited); logged decisions keep its id",
                {"200": _json("Deleted", "ArtworkDeleted"), **_errors(400, 404)},
                role="editor", parameters=[artwork_id]),
        },
        "/artworks/{artwork_id}/crops": {
            "get": _op("listCrops", "The artwork's crop for each placement, or why it has none",
                       {"200": _json("Crops", "Crops"), **_errors(400, 404)}, role="viewer",
                       parameters=[artwork_id]),
            "post": _op("proposeCrops", "Propose the artwork's crops again (those a person set "
                        "are kept)", {"200": _json("Crops", "Crops"), **_errors(400, 404, 413)},
                        role="editor", parameters=[artwork_id]),
        },
        "/artworks/{artwork_id}/crops/{placement}": {"put": _op(
            "setCrop", "Set the crop box of one placement by hand (audited)",
            {"200": _json("The crop", "Crop"), **_errors(400, 404, 413)}, role="editor",
            parameters=[artwork_id, _path("placement", "placement name")],
            requestBody=_json_body("CropChange"))},
        "/crops/{name}": {"get": _op(
            "getCrop", "A rendered crop, named by its content: public and cached for good while "
                       "its artwork is live, else only with a token or studio session",
            {"200": {"description": "JPEG", "content": {"image/jpeg": {
                "schema": {"type": "string", "format": "binary"}}}},
             "304": {"description": "Not modified"}, **_errors(401, 403, 404, 429, 503)},
            security=[{}, {"bearer": []}],
            parameters=[{"name": "name", "in": "path", "required": True,
                         "description": "the crop's content hash and .jpg",
                         "schema": {"type": "string", "pattern": "^[0-9a-f]{20}\\.jpg$"}}])},
        "/erasures": {"post": _op(
            "eraseUser", "Erase a viewer's decisions, feedback and plays; only that an erasure "
            "happened (when, by whom) is recorded",
            {"201": _json("Erased", "Erasure"), **_errors(400, 413)},
            role="admin", requestBody=_json_body("ErasureRequest"))},
        "/artworks/{artwork_id}/image": {"get": _op(
            "getArtworkImage", "The artwork's image: public while live (ETag, cached a day); "
            "the others only with a token or studio session, never cached",
            {"200": {"description": "Image", "content": images},
             "304": {"description": "Not modified"},
             **_errors(401, 403, 404, 429, 503)},
            security=[{}, {"bearer": []}], parameters=[artwork_id])},
        "/ping": {"get": _op("ping", "Liveness without touching the store",
                             {"200": _json("OK", "Ping")})},
        "/healthz": {"get": _op(
            "health", "Liveness, and the model serving: a snapshot, or the exploratory "
            "(untrained) policy and why", {"200": _json("OK", "Health")})},
        "/readyz": {"get": _op(
            "readiness", "Readiness: database sound and writable, journal backlog, model loaded, "
            "learner lag; each check with what was found",
            {"200": _json("Ready", "Readiness"), "503": _json("Not ready", "Readiness")})},
        "/stats": {"get": _op(
            "titleStats", "Impressions, clicks, plays and take rate per artwork and per policy "
            "(business figures, and an aggregate over the title's log)",
            {"200": _json("Statistics", "Stats"), **_errors(400, 404)}, role="viewer",
            parameters=[_query("title", "title id", {"type": "string", "minLength": 1}, True,
                               example="night-train")])},
        "/stats/experiments/{name}": {"get": _op(
            "experimentStats", "An experiment's arms: decisions and take rate with its interval; "
            "each arm against the first: the difference of per-user take rates with its "
            "always-valid 95% confidence sequence (it may be looked at any time)",
            {"200": _json("Statistics", "ExperimentStats"), **_errors(404)}, role="viewer",
            parameters=[_path("name", "experiment name")])},
        "/metrics": {"get": _op(
            "metrics", "Prometheus metrics, the totals of every worker: decisions, feedback, "
            "latency, errors, model version, journal backlog and refused lines, the learner's "
            "lag, examples learned, snapshot version and errors",
            {"200": {"description": "Metrics",
                     "content": {"text/plain": {"schema": {"type": "string"}}}}})},
        "/openapi.json": {"get": _op("openapi", "This document", {"200": {
            "description": "OpenAPI 3.1",
            "content": {"application/json": {"schema": {"type": "object"}}}}})},
    }


def openapi_document(max_titles: int = 24,
                     context_params: tuple[str, ...] = Config.context_params,
                     placements: tuple[str, ...] = Config().placement_names) -> dict[str, Any]:
    """The API description served at /openapi.json (for the configured titles and context)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "artbandit", "version": "0.1.0",
                 "description": "Artwork personalization: serving, feedback, creatives' catalog "
                 "and operations. Every error body is {error, status}. Creatives' routes need a "
                 "user's API token (`artbandit user token create NAME`)."},
        "paths": _paths(max_titles, context_params, placements),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }
