"""The one table from error types to HTTP status codes, and the one JSON shape of every error."""
from __future__ import annotations

import logging
from typing import TypeVar

from flask import Flask, current_app, has_app_context, jsonify
from werkzeug.exceptions import HTTPException

from artwork import accounts
from artwork import errors as catalog
from bandit import errors as bandit
from simulator import errors as simulator
from vision import errors as vision

from api import errors as api

log = logging.getLogger(__name__)
T = TypeVar("T")

# Every error type the project defines, with its status. A type not listed takes the status
# of its nearest listed base; anything that is none of ours is a bug in the server (500).
STATUS: dict[type[BaseException], int] = {
    # the catalog and event store
    catalog.CatalogError: 400,
    catalog.InvalidRecordError: 400,
    catalog.InvalidRewardError: 400,
    catalog.InvalidImageError: 400,
    catalog.NotFoundError: 404,
    catalog.AlreadyExistsError: 409,
    catalog.LiveLimitError: 409,
    catalog.ImageTooLargeError: 413,
    catalog.SchemaError: 503,
    catalog.JournalError: 503,
    catalog.StorageFullError: 503,
    catalog.StoreUnavailableError: 503,
    accounts.InvalidCredentialsError: 401,
    accounts.SignInThrottledError: 429,
    # the bandit
    bandit.BanditError: 400,
    bandit.InvalidCandidatesError: 400,
    bandit.InvalidPolicyError: 400,
    bandit.InvalidFeatureError: 400,
    bandit.InvalidRewardError: 400,
    bandit.InvalidRecordError: 400,
    bandit.PolicySpecError: 400,
    bandit.SnapshotError: 503,
    # the vision stage
    vision.VisionError: 400,
    vision.ImageDecodeError: 400,
    vision.VideoDecodeError: 400,
    vision.InvalidParameterError: 400,
    vision.EmbedderConfigError: 400,
    vision.MediaNotFoundError: 404,
    vision.NearDuplicateError: 409,
    vision.UnusableImageError: 422,
    vision.EmbedderUnavailableError: 503,
    # the simulator
    simulator.SimulatorError: 400,
    simulator.InvalidLogError: 400,
    simulator.MissingColumnError: 400,
    simulator.LogFormatError: 400,
    simulator.InvalidEstimatorError: 400,
    simulator.ExternalPolicyError: 400,
    simulator.SimulationError: 400,
    simulator.WorldError: 400,
    simulator.NoEvidenceError: 409,
    simulator.ClusterError: 503,
    # the product itself
    api.ApiError: 500,
    api.InvalidRequestError: 400,
    api.UnauthorizedError: 401,
    api.ForbiddenError: 403,
    api.UnknownIdError: 404,
    api.RequestTimeoutError: 408,
    api.TooLargeError: 413,
    api.ConfigError: 500,
    api.LearnerBusyError: 503,
    api.IngestWorkerBusyError: 503,
    api.NotReadyError: 503,
    api.ServerStartError: 503,
    api.DemoError: 500,
}

# What an HTTP client can do about an error, added to its message.
HINTS: dict[type[BaseException], str] = {
    catalog.JournalError: "the decision could not be logged; try again shortly",
    catalog.StorageFullError: "the server is out of disk space; try again later",
    catalog.StoreUnavailableError: "the server's database needs attention; try again later",
    catalog.SchemaError: "the server's database needs attention; try again later",
    bandit.SnapshotError: "the model could not be loaded; try again shortly",
}

# Seconds a client should wait before trying again (the Retry-After header of a 503).
RETRY_AFTER: dict[type[BaseException], int] = {
    catalog.JournalError: 5,
    catalog.StorageFullError: 60,
    catalog.StoreUnavailableError: 60,
    catalog.SchemaError: 60,
    bandit.SnapshotError: 5,
}


def retry_after_for(exc: BaseException) -> int | None:
    """Seconds the client should wait before trying again (a throttled sign-in names its own)."""
    own = getattr(exc, "retry_after", None)
    return own if isinstance(own, int) else _nearest(RETRY_AFTER, type(exc))


def _nearest(table: dict[type[BaseException], T], kind: type[BaseException]) -> T | None:
    for base in kind.__mro__:
        if base in table:
            return table[base]
    return None


def status_for(exc: BaseException) -> int:
    """The HTTP status code for an exception raised while serving a request."""
    return status_of_type(type(exc))


def status_of_type(kind: type[BaseException]) -> int:
    """The HTTP status code for an error of this type (500 for none of ours)."""
    status = _nearest(STATUS, kind)
    return 500 if status is None else status


# Our error types by the name a job record keeps them under ("module.Class").
ERROR_TYPES = {f"{t.__module__}.{t.__qualname__}": t for t in STATUS}


def recorded_error(message: str, type_name: str | None) -> BaseException:
    """An error as a job record keeps it (message, type name), rebuilt for its status and hint."""
    kind = ERROR_TYPES.get(type_name or "", api.ApiError)
    try:
        return kind(message)
    except TypeError:  # a type that needs more than a message
        return api.ApiError(message)


# What a client can do about a missing record, by what is missing.
NOT_FOUND_HINTS = {
    "decision": "feedback must name an event_id returned by GET /artwork",
}


def message_for(exc: BaseException) -> str:
    """The error's message with what the client can do about it (no server paths in it)."""
    message = str(exc)
    if isinstance(exc, catalog.NotFoundError) and exc.kind in NOT_FOUND_HINTS:
        return public(f"{message}; {NOT_FOUND_HINTS[exc.kind]}")
    hint = _nearest(HINTS, type(exc))
    return public(message if hint is None else f"{message}; {hint}")


def public(message: str) -> str:
    """A message without the server's data directory in it (for anyone who may call)."""
    if has_app_context():
        data_dir = str(current_app.config["ARTBANDIT"].data_dir)
        message = message.replace(data_dir, "the data directory")
    return message


def error_response(message: str, status: int, retry_after: int | None = None):
    """The JSON body every error gets: {"error": message, "status": code}."""
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def http_exception_message(exc: HTTPException) -> str:
    """What to tell the client about one of Werkzeug's own HTTP errors."""
    if exc.code == 413:
        return "request body too large; see the upload limits in the API description"
    return exc.description or exc.name


def register_error_handlers(app: Flask) -> None:
    """Answer every error, ours or Werkzeug's, with the JSON shape."""

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        response = error_response(http_exception_message(exc), exc.code or 500)
        for name, value in exc.get_headers():  # e.g. a 405's Allow
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _any(exc: Exception):
        status = status_for(exc)
        if status == 500:
            log.exception("unhandled error")
            return error_response("internal error; the server log has the details", 500)
        return error_response(message_for(exc), status, retry_after_for(exc))
