"""Reading request parameters and bodies, with 400s that say what is wrong."""
from __future__ import annotations

from typing import Any, Callable, Mapping, TypeVar

from flask import request

from api.errors import InvalidRequestError, TooLargeError

T = TypeVar("T")


MAX_JSON_BYTES = 1024 * 1024


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
    """The request's JSON body; 400 when it is missing or not JSON, 413 over 1 MiB."""
    if not request.is_json:
        raise InvalidRequestError("send a JSON body with Content-Type: application/json")
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise TooLargeError(f"JSON bodies are limited to {MAX_JSON_BYTES} bytes; send smaller batches")
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidRequestError("the request body is not valid JSON")
    return body


def json_object() -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidRequestError("the JSON body must be an object")
    return body


def required_str(body: Any, key: str) -> str:
    """A non-empty string field of a JSON object."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the JSON body must be an object")
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"`{key}` is required and must be a non-empty string")
    return value


def string_list(body: Mapping[str, Any], key: str) -> list[str]:
    """An optional list-of-strings field of a JSON object."""
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequestError(f"`{key}` must be a list of strings")
    return value


def optional(args: Mapping[str, str], key: str, kind: Callable[[str], T], default: T) -> T:
    """An optional query or form parameter converted by `kind`; 400 if it does not convert."""
    raw = args.get(key)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise InvalidRequestError(f"parameter `{key}` = {raw!r} is not a valid {kind.__name__}") from None
