"""The JSON schemas of the HTTP API's bodies, declared once: the views validate request bodies
against them (`validated`), and /openapi.json publishes them as its components."""
from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from artwork.catalog import MAX_GENRE_LENGTH, MAX_GENRES, MAX_TITLE_NAME
from artwork.eligibility import MATURITY_LEVELS, MAX_VALUES, RULE_FIELDS
from artwork.erasure import MAX_USER_ID
from artwork.records import ARTWORK_STATUSES, REWARD_KINDS

from api.errors import InvalidRequestError

ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", "examples": ["night-train"],
      "description": "is not valid: 1 to 128 letters, digits, '.', '_' or '-', starting with a "
                     "letter or digit"}
# Text without control characters, and with something other than spaces in it.
_TEXT = "^[^\\u0000-\\u001f\\u007f]*$"
_NAME = "^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$"
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_RATE = {"type": "number", "minimum": 0, "maximum": 1}
# Not all of a job's fields exist at every stage; these always do.
_JOB_STATUSES = ["queued", "running", "done", "failed"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], required: tuple[str, ...] = (), *, closed: bool = False,
            example: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties, "required": list(required)}
    if closed:
        out["additionalProperties"] = False
    if example is not None:
        out["examples"] = [example]
    return out


_COUNTS = {"decisions": {"type": "integer", "minimum": 0},
           "impressions": {"type": "integer", "minimum": 0},
           "clicks": {"type": "integer", "minimum": 0}, "plays": {"type": "integer", "minimum": 0},
           "take_rate": _RATE, "take_rate_low": _RATE, "take_rate_high": _RATE, "share": _RATE}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object({"error": {"type": "string"}, "status": {"type": "integer"}},
                     ("error", "status"), example={"error": "no title 'nope'", "status": 404}),
    "NewTitle": _object({
        "id": ID,
        "name": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE_NAME, "pattern": _NAME,
                 "description": f"must be a name of 1 to {MAX_TITLE_NAME} characters without "
                                "control characters"},
        "genres": {"type": "array", "maxItems": MAX_GENRES, "items": {
            "type": "string", "maxLength": MAX_GENRE_LENGTH, "pattern": _TEXT},
            "description": f"must be a list of at most {MAX_GENRES} genres of up to "
                           f"{MAX_GENRE_LENGTH} characters, without control characters"},
    }, ("id", "name"), closed=True,
        example={"id": "night-train", "name": "Night Train", "genres": ["thriller"]}),
    "Title": _object({"id": {"type": "string"}, "name": {"type": "string"},
                      "genres": {"type": "array", "items": {"type": "string"}},
                      "created": {"type": "number"}}, ("id", "name", "genres", "created"),
                     example={"id": "night-train", "name": "Night Train",
                              "genres": ["thriller"], "created": 1795379727.79}),
    "Titles": _object({"titles": {"type": "array", "items": _ref("Title")}}, ("titles",)),
    "Artwork": _object({
        "id": {"type": "string"}, "title_id": {"type": "string"}, "path": {"type": "string"},
        "source": {"enum": ["upload", "video"]}, "width": {"type": "integer"},
        "height": {"type": "integer"}, "status": {"enum": list(ARTWORK_STATUSES)},
        "is_default": {"type": "boolean"}, "frame_time": _NUMBER_OR_NULL,
        "frame_index": {"type": ["integer", "null"]}, "shot": {"type": ["integer", "null"]},
        "quality": {"type": "object", "additionalProperties": {"type": "number"}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "embedding_dim": {"type": "integer"}, "embedder": {"type": ["string", "null"]},
        "created": {"type": "number"}, "image_url": {"type": "string"},
        "eligibility": _ref("Eligibility"),
    }, ("id", "title_id", "status", "is_default", "width", "height", "image_url")),
    "TitleWithArtworks": {"allOf": [_ref("Title"), _object(
        {"artworks": {"type": "array", "items": _ref("Artwork")}}, ("artworks",))]},
    "ArtworkChange": _object({
        "status": {"enum": list(ARTWORK_STATUSES),
                   "description": f"must be one of {', '.join(ARTWORK_STATUSES)}"},
        "default": {"type": "boolean", "description": "must be true or false"},
        "eligibility": {**_ref("Eligibility"), "description": "must be an object of rules: "
                        f"{', '.join(RULE_FIELDS)} ({{}} clears them)"}}, closed=True,
                             example={"status": "live", "default": True}),
    "Eligibility": _object({
        "countries": {"type": "array", "maxItems": MAX_VALUES, "uniqueItems": True,
                      "items": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
                      "description": "two-letter country codes (any country when absent)"},
        "languages": {"type": "array", "maxItems": MAX_VALUES, "uniqueItems": True,
                      "items": {"type": "string", "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
                      "description": "language codes; `de` also admits `de-AT` (any when absent)"},
        "devices": {"type": "array", "maxItems": MAX_VALUES, "uniqueItems": True,
                    "items": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"},
                    "description": "device classes, e.g. tv, mobile (any when absent)"},
        "maturity": {"enum": list(MATURITY_LEVELS),
                     "description": "the artwork's rating: profiles whose `maturity` ceiling is "
                                    "lower never get it"},
        "starts": {"type": ["number", "string"],
                   "description": "Unix seconds or ISO 8601 date-time with zone; eligible from then"},
        "ends": {"type": ["number", "string"],
                 "description": "Unix seconds or ISO 8601 date-time with zone; eligible until then"},
    }, closed=True, example={"countries": ["DE", "AT"], "languages": ["de"], "maturity": "teen",
                             "ends": "2026-12-27T00:00:00+01:00"}),
    "ArtworkDeleted": _object({"deleted": {"type": "string"}, "title_id": {"type": "string"}},
                              ("deleted", "title_id")),
    "ErasureRequest": _object({"user": {
        "type": "string", "minLength": 1, "maxLength": MAX_USER_ID, "pattern": _NAME,
        "description": f"must be the viewer's id as GET /artwork got it (1 to {MAX_USER_ID} "
                       "characters)"}}, ("user",), closed=True, example={"user": "u-42"}),
    "Erasure": _object({"id": {"type": "string"}, "at": {"type": "number"}}, ("id", "at")),
    "CropChange": _object({"box": {
        "type": "array", "minItems": 4, "maxItems": 4,
        "items": {"type": "integer", "minimum": 0, "maximum": 100000},
        "description": "must be [x, y, width, height] in the artwork's pixels, in the "
                       "placement's exact aspect ratio"}}, ("box",), closed=True,
        example={"box": [0, 40, 512, 288]}),
    "Crop": _object({
        "placement": {"type": "string"},
        "box": {"type": ["array", "null"], "items": {"type": "integer"}},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": ["string", "null"]}, "adjusted": {"type": "boolean"},
        "image_url": {"type": ["string", "null"]}},
        ("placement", "box", "score", "reason", "adjusted", "image_url")),
    "Crops": _object({"artwork_id": {"type": "string"},
                      "crops": {"type": "array", "items": _ref("Crop")}}, ("artwork_id", "crops")),
    "UploadResult": {"oneOf": [
        _object({"file": {"type": "string"}, "ok": {"const": True},
                 "artwork": _ref("Artwork")}, ("file", "ok", "artwork")),
        _object({"file": {"type": "string"}, "ok": {"const": False},
                 "error": {"type": "string"}}, ("file", "ok", "error")),
    ]},
    "UploadResults": _object({
        "results": {"type": "array", "items": _ref("UploadResult")},
        "added": {"type": "integer", "minimum": 0}, "failed": {"type": "integer", "minimum": 0},
    }, ("results", "added", "failed")),
    "UploadRefused": _object({"error": {"type": "string"}, "status": {"type": "integer"},
                              "results": {"type": "array", "items": _ref("UploadResult")}},
                             ("error", "status")),
    "Job": _object({
        "id": {"type": "string"}, "kind": {"enum": ["stills", "video"]},
        "title_id": {"type": "string"}, "status": {"enum": _JOB_STATUSES},
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "error": {"type": ["string", "null"]}, "result": {"type": ["object", "null"]},
        "url": {"type": "string"},
    }, ("id", "kind", "title_id", "status", "progress"),
        example={"id": "18786c37f0a94b7c9d2e", "kind": "video", "title_id": "night-train",
                 "status": "queued", "progress": 0.0, "url": "/jobs/18786c37f0a94b7c9d2e"}),
    "Feedback": _object({
        "event_id": {"type": "string", "minLength": 1},
        "kind": {"enum": list(REWARD_KINDS)}, "value": {"type": "number"},
    }, ("event_id", "kind"), closed=True,
        example={"event_id": "9a063928fb594e42a6593fee6d88ede3", "kind": "play"}),
    "FeedbackBody": {"oneOf": [
        _ref("Feedback"),
        {"type": "array", "minItems": 1, "maxItems": 100, "items": _ref("Feedback")},
        _object({"events": {"type": "array", "minItems": 1, "maxItems": 100,
                            "items": _ref("Feedback")}}, ("events",), closed=True),
    ]},
    "FeedbackRecorded": _object({"recorded": {"type": "integer", "minimum": 0},
                                 "duplicates": {"type": "integer", "minimum": 0}},
                                ("recorded", "duplicates"),
                                example={"recorded": 3, "duplicates": 0}),
    "Choice": _object({
        "event_id": {"type": "string"}, "title_id": {"type": "string"},
        "artwork_id": {"type": "string"}, "image_url": {"type": "string"},
        "probability": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "policy": {"type": "string"}, "model_version": {"type": "integer"},
        "repeat": {"type": "boolean", "description": "an earlier decision for this user and "
                   "title shown again (stable_for): its event id, artwork and probability"},
    }, ("event_id", "title_id", "artwork_id", "image_url", "probability", "policy",
        "model_version", "repeat")),
    "Choices": {"allOf": [_ref("Choice"), _object({
        "user": {"type": "string"},
        "choices": {"type": "array", "minItems": 1, "items": _ref("Choice")}},
        ("user", "choices"))]},
    "Stats": _object({
        "title_id": {"type": "string"}, "decisions": {"type": "integer", "minimum": 0},
        "artworks": {"type": "array", "items": _object(
            {"artwork_id": {"type": "string"}, **_COUNTS}, ("artwork_id", *_COUNTS))},
        "policies": {"type": "array", "items": _object(
            {"policy": {"type": "string"}, **_COUNTS}, ("policy", *_COUNTS))},
    }, ("title_id", "decisions", "artworks", "policies")),
    "ExperimentStats": _object({
        "experiment": {"type": "string"}, "running": {"type": "boolean"},
        "started": {"type": "number"}, "stopped": {"type": ["number", "null"]},
        "confidence": _RATE,
        "arms": {"type": "array", "items": _object(
            {"arm": {"type": "string"}, "share": {"type": "number"},
             "decisions": {"type": "integer", "minimum": 0}, "take_rate": _RATE,
             "take_rate_low": _RATE, "take_rate_high": _RATE},
            ("arm", "share", "decisions", "take_rate", "take_rate_low", "take_rate_high"))},
        "differences": {"type": "array", "items": _object(
            {"arm": {"type": "string"}, "against": {"type": "string"},
             "difference": {"type": ["number", "null"]}, "low": {"type": ["number", "null"]},
             "high": {"type": ["number", "null"]}, "separated": {"type": "boolean"},
             "users": {"type": "integer", "minimum": 0}},
            ("arm", "against", "difference", "low", "high", "separated", "users"))},
    }, ("experiment", "running", "arms", "differences")),
    "Ping": _object({"ok": {"const": True}}, ("ok",), example={"ok": True}),
    "Health": _object({"status": {"const": "ok"}, "policy": {"type": "string"},
                       "learning": {"type": "boolean"}, "model": {"type": "string"},
                       "model_version": {"type": "integer"}},
                      ("status", "policy", "learning", "model_version")),
    "Readiness": _object({"ready": {"type": "boolean"}, "checks": {
        "type": "object", "additionalProperties": _object(
            {"ok": {"type": "boolean"}, "detail": {"type": "string"}}, ("ok", "detail"))}},
        ("ready", "checks")),
}

_VALIDATORS: dict[str, Draft202012Validator] = {}


def _validator(name: str) -> Draft202012Validator:
    if name not in _VALIDATORS:
        _VALIDATORS[name] = Draft202012Validator(_local({"$defs": SCHEMAS, **SCHEMAS[name]}))
    return _VALIDATORS[name]


def _local(value: Any) -> Any:
    """A schema with its references to the components pointed at `$defs` (for jsonschema)."""
    if isinstance(value, dict):
        return {k: (v.replace("#/components/schemas/", "#/$defs/") if k == "$ref" else _local(v))
                for k, v in value.items()}
    return [_local(v) for v in value] if isinstance(value, list) else value


def validated(name: str, body: Any) -> Any:
    """`body` if it matches schema `name`; InvalidRequestError naming the first field that does not."""
    error = next(iter(sorted(_validator(name).iter_errors(body), key=lambda e: e.path)), None)
    if error is None:
        return body
    schema = SCHEMAS[name]
    if not error.absolute_path:
        if error.validator == "type":
            raise InvalidRequestError(f"the JSON body must be an {schema['type']}")
        if error.validator == "required":
            missing = [k for k in schema["required"] if k not in body]
            raise InvalidRequestError(f"`{missing[0]}` is required")
        if error.validator == "additionalProperties":
            unknown = sorted(set(body) - set(schema["properties"]))
            raise InvalidRequestError(f"unknown field(s) {unknown}; the fields are "
                                      f"{', '.join(schema['properties'])}")
        raise InvalidRequestError(error.message)
    field = str(error.absolute_path[0])
    rule = schema.get("properties", {}).get(field, {}).get("description")
    raise InvalidRequestError(f"`{field}` {rule}" if rule else f"`{field}`: {error.message}")
