"""The OpenAPI 3.1 description of every endpoint."""
from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _resp(description: str, schema: dict | None = None, media: str = "application/json") -> dict:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {media: {"schema": schema}}
    return out


def _errors(*codes: int) -> dict:
    text = {400: "Bad request", 401: "No bearer token", 403: "Wrong token", 404: "Not found",
            405: "Method not allowed (the Allow header lists the allowed ones)",
            408: "The request (head or body) did not arrive in time",
            409: "Already exists, or conflicts with what exists",
            413: "Body over this route's limit (a few KiB except on the upload routes)",
            422: "An image that cannot serve as artwork",
            503: "Not ready, or nothing can be written (a full disk); see Retry-After"}
    return {str(c): _resp(text[c], _ERROR) for c in codes}


def _q(name: str, description: str, required: bool = False, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or {"type": "string"}}


def _p(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"}}


_AUTH = [{"bearer": []}]
_OBJ = {"type": "object"}


def openapi_document(max_titles: int = 24) -> dict[str, Any]:
    """The API description served at /openapi.json."""
    paths: dict[str, Any] = {
        "/artwork": {"get": {
            "summary": "Choose the artwork to show for each title (one logged decision each)",
            "parameters": [
                _q("user", "opaque user id (unknown users are served)", True),
                _q("title", f"title id; repeat for a row of titles (at most {max_titles})", True,
                   {"type": "array", "items": {"type": "string"}, "maxItems": max_titles}),
                _q("device", "device class, e.g. tv, mobile, web"),
                _q("country", "two-letter country code"),
                _q("hour", "local hour 0-23", schema={"type": "integer", "minimum": 0,
                                                      "maximum": 23}),
                _q("row", "row of the home page the titles are in"),
            ],
            "responses": {
                "200": _resp("One decision per title", {"$ref": "#/components/schemas/Choices"}),
                **_errors(400, 404, 503),
            },
        }},
        "/feedback": {"post": {
            "summary": "Report impression, click or play for served decisions (idempotent)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "oneOf": [{"$ref": "#/components/schemas/Feedback"},
                          {"type": "array", "items": {"$ref": "#/components/schemas/Feedback"}},
                          {"type": "object", "properties": {"events": {
                              "type": "array",
                              "items": {"$ref": "#/components/schemas/Feedback"}}}}]}}}},
            "responses": {"202": _resp("Recorded", _OBJ), **_errors(400, 404, 413, 503)},
        }},
        "/titles": {
            "get": {"summary": "List titles", "security": _AUTH,
                    "responses": {"200": _resp("Titles", _OBJ), **_errors(401, 403)}},
            "post": {"summary": "Create a title", "security": _AUTH,
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"type": "object", "required": ["id", "name"], "properties": {
                             "id": {"type": "string"}, "name": {"type": "string"},
                             "genres": {"type": "array", "items": {"type": "string"}}}}}}},
                     "responses": {"201": _resp("Created", _OBJ),
                                   **_errors(400, 401, 403, 409, 413, 503)}},
        },
        "/titles/{title_id}": {"get": {
            "summary": "A title with its artworks", "security": _AUTH,
            "parameters": [_p("title_id", "title id")],
            "responses": {"200": _resp("Title", _OBJ), **_errors(401, 403, 404)}}},
        "/titles/{title_id}/artworks": {"post": {
            "summary": "Upload stills (multipart field `file`, repeatable); per-file results once "
                       "the ingest worker has them, else 202 with the job to poll",
            "security": _AUTH, "parameters": [_p("title_id", "title id")],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {"file": {"type": "array", "items": {
                    "type": "string", "format": "binary"}}}}}}},
            "responses": {"201": _resp("All stored", _OBJ), "207": _resp("Some stored", _OBJ),
                          "202": _resp("Still being ingested: poll the job's url", _OBJ),
                          **_errors(400, 401, 403, 404, 408, 409, 413, 422, 503)}}},
        "/titles/{title_id}/videos": {"post": {
            "summary": "Upload a video; starts a background ingest job", "security": _AUTH,
            "parameters": [_p("title_id", "title id")],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "max_candidates": {"type": "integer", "minimum": 1, "maximum": 100}}}}}},
            "responses": {"202": _resp("Job queued", _OBJ),
                          **_errors(400, 401, 403, 404, 408, 413, 503)}}},
        "/jobs/{job_id}": {"get": {
            "summary": "Progress and result of an ingest job", "security": _AUTH,
            "parameters": [_p("job_id", "job id")],
            "responses": {"200": _resp("Job", _OBJ), **_errors(401, 403, 404)}}},
        "/artworks/{artwork_id}": {"patch": {
            "summary": "Change an artwork's status and/or default flag", "security": _AUTH,
            "parameters": [_p("artwork_id", "artwork id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "status": {"enum": ["candidate", "live", "retired"]},
                    "default": {"type": "boolean"}}}}}},
            "responses": {"200": _resp("Updated artwork", _OBJ),
                          **_errors(400, 401, 403, 404, 503)}}},
        "/artworks/{artwork_id}/image": {"get": {
            "summary": "The artwork's image (ETag and long-lived cache headers)",
            "parameters": [_p("artwork_id", "artwork id")],
            "responses": {"200": {"description": "Image", "content": {
                m: {"schema": {"type": "string", "format": "binary"}}
                for m in ("image/jpeg", "image/png", "image/webp")}},
                "304": {"description": "Not modified"}, **_errors(404)}}},
        "/ping": {"get": {"summary": "Liveness without touching the store",
                          "responses": {"200": _resp("OK", _OBJ)}}},
        "/healthz": {"get": {"summary": "Liveness, and the model serving: a snapshot, or the "
                                        "exploratory (untrained) policy and why",
                             "responses": {"200": _resp("OK", _OBJ)}}},
        "/readyz": {"get": {
            "summary": "Readiness: database sound and writable, journal backlog, model loaded, "
                       "learner lag; each check with what was found",
            "responses": {"200": _resp("Ready", _OBJ), "503": _resp("Not ready", _OBJ)}}},
        "/stats": {"get": {
            "summary": "Impressions, clicks, plays and take rate per artwork and per policy "
                       "(creatives only: business figures, and an aggregate over the title's log)",
            "security": _AUTH, "parameters": [_q("title", "title id", True)],
            "responses": {"200": _resp("Statistics", _OBJ), **_errors(400, 401, 403, 404)}}},
        "/metrics": {"get": {"summary": "Prometheus metrics, the totals of every worker: "
                             "decisions, feedback, latency, errors, model version, journal "
                             "backlog and refused lines, the learner's lag, examples learned, "
                             "snapshot version and errors", "responses": {
            "200": _resp("Metrics", {"type": "string"}, "text/plain")}}},
        "/openapi.json": {"get": {"summary": "This document",
                                  "responses": {"200": _resp("OpenAPI", _OBJ)}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "artbandit", "version": "0.1.0",
                 "description": "Artwork personalization: serving, feedback, creatives' "
                 "catalog and operations. Every error body is {error, status}."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "status"], "properties": {
                    "error": {"type": "string"}, "status": {"type": "integer"}}},
                "Choice": {"type": "object", "properties": {
                    "event_id": {"type": "string"}, "title_id": {"type": "string"},
                    "artwork_id": {"type": "string"}, "image_url": {"type": "string"},
                    "probability": {"type": "number"}, "policy": {"type": "string"},
                    "model_version": {"type": "integer"}}},
                "Choices": {"type": "object", "properties": {
                    "user": {"type": "string"},
                    "choices": {"type": "array", "items": {"$ref": "#/components/schemas/Choice"}},
                }},
                "Feedback": {"type": "object", "required": ["event_id", "kind"], "properties": {
                    "event_id": {"type": "string"},
                    "kind": {"enum": ["impression", "click", "play"]},
                    "value": {"type": "number"}}},
            },
        },
    }
