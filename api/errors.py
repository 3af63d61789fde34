"""One table from error types to HTTP status codes, and one JSON shape for every error."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from artwork.errors import (
    AlreadyExistsError,
    CatalogError,
    ImageTooLargeError,
    JournalError,
    LiveLimitError,
    NotFoundError,
)
from simulator.errors import InvalidEstimatorError, InvalidLogError, PolicySpecError
from vision.errors import ImageDecodeError, InvalidParameterError, VideoDecodeError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error raised by the HTTP layer itself, with its status code."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class BadRequest(ApiError):
    """A request with a missing or malformed parameter or body."""

    status = 400


class Unauthorized(ApiError):
    """No bearer token."""

    status = 401


class Forbidden(ApiError):
    """A wrong bearer token."""

    status = 403


class NotFound(ApiError):
    """A path or id that does not exist."""

    status = 404


class TooLarge(ApiError):
    """An upload over its size limit."""

    status = 413


class NotReady(ApiError):
    """The service cannot answer yet."""

    status = 503


# Our own error types, most specific first; anything else is a bug in the server (500).
STATUS_TABLE: tuple[tuple[type[BaseException], int], ...] = (
    (NotFoundError, 404),
    (ImageTooLargeError, 413),
    (AlreadyExistsError, 409),
    (LiveLimitError, 409),
    (JournalError, 503),
    (CatalogError, 400),
    (ImageDecodeError, 400),
    (VideoDecodeError, 400),
    (InvalidParameterError, 400),
    (PolicySpecError, 400),
    (InvalidEstimatorError, 400),
    (InvalidLogError, 400),
)


def status_for(exc: BaseException) -> int:
    """The HTTP status code for an exception raised while serving a request."""
    if isinstance(exc, ApiError):
        return exc.status
    for kind, status in STATUS_TABLE:
        if isinstance(exc, kind):
            return status
    return 500


def error_response(message: str, status: int):
    """The JSON body every error gets: {"error": message, "status": code}."""
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer every error, ours or Werkzeug's, with the JSON shape."""

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        message = exc.description or exc.name
        if exc.code == 413:
            message = "request body too large; see the upload limits in the API description"
        return error_response(message, exc.code or 500)

    @app.errorhandler(Exception)
    def _any(exc: Exception):
        status = status_for(exc)
        if status == 500:
            log.exception("unhandled error")
            return error_response("internal error; the server log has the details", 500)
        return error_response(str(exc), status)
