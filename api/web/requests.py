"""Reading request parameters and bodies, with 400s that say what is wrong."""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping, TypeVar

import orjson
from flask import request
from werkzeug.datastructures import FileStorage

from artwork.catalog import CONTROL_CHARACTERS

from api.config import Config
from api.errors import InvalidRequestError, RequestTimeoutError, TooLargeError

T = TypeVar("T")

# The largest request body of each endpoint: a few KiB for the UI's calls, JSON and forms,
# and the upload limits only on the routes that take uploads (see `body_limit`).
SMALL_BODY_BYTES = 16 * 1024
MAX_STILLS_PER_UPLOAD = 8
MULTIPART_SLACK_BYTES = 64 * 1024
STILLS_ENDPOINTS = frozenset({"creatives.upload_stills", "studio.upload_stills"})
VIDEO_ENDPOINTS = frozenset({"creatives.upload_video", "studio.upload_video"})


def body_limit(endpoint: str | None, config: Config) -> int:
    """The most bytes a request to `endpoint` may send (413 above it, before it is read)."""
    if endpoint in STILLS_ENDPOINTS:
        return config.max_upload_bytes * MAX_STILLS_PER_UPLOAD + MULTIPART_SLACK_BYTES
    if endpoint in VIDEO_ENDPOINTS:
        return config.max_video_bytes + MULTIPART_SLACK_BYTES
    return SMALL_BODY_BYTES


def check_text(value: str, what: str) -> str:
    """Refuse NUL and other control characters in a value that is logged or stored."""
    if CONTROL_CHARACTERS.search(value):
        raise InvalidRequestError(f"{what} must not contain control characters")
    return value


def query_lists(environ: Mapping[str, Any]) -> dict[str, list[str]]:
    """The request's query parameters as name -> values in order (`request.args.lists()`).

    Building werkzeug's MultiDict is a noticeable share of a decision's cost, so a plain
    ASCII query string without escapes (what UIs send) is split directly; anything else
    goes through werkzeug, which gives the same answer for the plain case.
    """
    query = environ.get("QUERY_STRING", "")
    if not query.isascii() or "%" in query or "+" in query:
        return dict(request.args.lists())
    params: dict[str, list[str]] = {}
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            params.setdefault(name, []).append(value)
    return params


def json_body() -> Any:
    """The request's JSON body; 400 when missing, not JSON or nested too deep, 413 over its limit."""
    if not request.is_json:
        raise InvalidRequestError("send a JSON body with Content-Type: application/json")
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise TooLargeError(f"JSON bodies are limited to {limit} bytes here; send smaller batches")
    try:
        data = request.get_data(cache=True)
    except TimeoutError:
        raise _late() from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        # What orjson refuses and json reads (integers past 64 bits, NaN) is then checked
        # by the view; nesting too deep for either is a 400 here, never a crash.
        return json.loads(data)
    except (ValueError, RecursionError):
        raise InvalidRequestError(
            "the request body is not valid JSON, or is nested too deep") from None


def uploaded_files(*names: str) -> list[FileStorage]:
    """The files of a multipart upload under any of `names`; 408 when the body is too slow."""
    try:
        return [f for name in names for f in request.files.getlist(name)]
    except TimeoutError:
        raise _late() from None


def form_value(name: str) -> str | None:
    """A field of a form body; 408 when the body is too slow."""
    try:
        return request.form.get(name)
    except TimeoutError:
        raise _late() from None


def _late() -> RequestTimeoutError:
    return RequestTimeoutError("the request body did not arrive in time; send it again")


def optional(args: Mapping[str, str], key: str, kind: Callable[[str], T], default: T) -> T:
    """An optional query or form parameter converted by `kind`; 400 if it does not convert."""
    raw = args.get(key)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise InvalidRequestError(f"parameter `{key}` = {raw!r} is not a valid {kind.__name__}") from None
