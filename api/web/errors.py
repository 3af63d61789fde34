"""The one table from error types to HTTP status codes, and the one JSON shape of every error."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from artwork import errors as catalog
from bandit import errors as bandit
from simulator import errors as simulator
from vision import errors as vision

from api import errors as api

log = logging.getLogger(__name__)

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
    # the product itself
    api.ApiError: 500,
    api.InvalidRequestError: 400,
    api.UnauthorizedError: 401,
    api.ForbiddenError: 403,
    api.UnknownIdError: 404,
    api.TooLargeError: 413,
    api.ConfigError: 500,
    api.LearnerBusyError: 503,
    api.NotReadyError: 503,
    api.ServerStartError: 503,
    api.DemoError: 500,
}

# What an HTTP client can do about an error, added to its message.
HINTS: dict[type[BaseException], str] = {
    catalog.JournalError: "the decision could not be logged; try again shortly",
    catalog.SchemaError: "the server's database needs attention; try again later",
    bandit.SnapshotError: "the model could not be loaded; try again shortly",
}


def status_for(exc: BaseException) -> int:
    """The HTTP status code for an exception raised while serving a request."""
    for kind in type(exc).__mro__:
        status = STATUS.get(kind)
        if status is not None:
            return status
    return 500


# What a client can do about a missing record, by what is missing.
NOT_FOUND_HINTS = {
    "decision": "feedback must name an event_id returned by GET /artwork",
}


def message_for(exc: BaseException) -> str:
    """The error's message with what the client can do about it."""
    message = str(exc)
    if isinstance(exc, catalog.NotFoundError) and exc.kind in NOT_FOUND_HINTS:
        return f"{message}; {NOT_FOUND_HINTS[exc.kind]}"
    for kind in type(exc).__mro__:
        hint = HINTS.get(kind)
        if hint is not None:
            return f"{message}; {hint}"
    return message


def error_response(message: str, status: int):
    """The JSON body every error gets: {"error": message, "status": code}."""
    response = jsonify({"error": message, "status": status})
    response.status_code = status
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
        return error_response(http_exception_message(exc), exc.code or 500)

    @app.errorhandler(Exception)
    def _any(exc: Exception):
        status = status_for(exc)
        if status == 500:
            log.exception("unhandled error")
            return error_response("internal error; the server log has the details", 500)
        return error_response(message_for(exc), status)
