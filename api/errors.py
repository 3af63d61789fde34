"""The product's own errors: one base, no HTTP. `api/web/errors.py` maps each to a status."""
from __future__ import annotations


class ApiError(Exception):
    """Base for every error the product layer (runtime, web, studio, CLI, demo) raises."""


class ConfigError(ApiError, ValueError):
    """A configuration value that cannot be used."""


class InvalidRequestError(ApiError, ValueError):
    """A request with a missing or malformed parameter or body."""


class UnauthorizedError(ApiError):
    """No credentials where they are needed."""


class ForbiddenError(ApiError):
    """Credentials that do not allow what was asked."""


class UnknownIdError(ApiError, LookupError):
    """An id of a job, a replay run or a report that does not exist."""


class RequestTimeoutError(ApiError):
    """A request body that did not arrive in time."""


class TooLargeError(ApiError, ValueError):
    """An upload or body over its size limit."""


class NotReadyError(ApiError):
    """The service cannot do this now (switched off, nothing to work on yet)."""


class LearnerBusyError(ConfigError):
    """Another learner already holds this data directory's snapshots."""


class IngestWorkerBusyError(ConfigError):
    """Another ingest worker already runs for this data directory."""


class ServerStartError(ApiError):
    """A server process exited or did not answer /healthz in time."""


class DemoError(ApiError):
    """The demo could not run (missing media, the server would not start, ...)."""
