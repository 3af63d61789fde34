"""Every error type of the project maps to one HTTP status in the one table."""
from __future__ import annotations

import inspect

import pytest

from artwork import errors as catalog
from bandit import errors as bandit
from simulator import errors as simulator
from vision import errors as vision

from api import errors as api
from api.web.errors import STATUS, message_for, status_for

MODULES = (catalog, bandit, vision, simulator, api)


def _error_types(module) -> list[type[BaseException]]:
    return [obj for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, BaseException) and obj.__module__ == module.__name__]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_error_type_is_in_the_table(module):
    missing = [t.__name__ for t in _error_types(module) if t not in STATUS]
    assert not missing, f"{module.__name__}: {missing} have no status"


@pytest.mark.parametrize("error, status", [
    (catalog.NotFoundError("no title 'x'"), 404),
    (catalog.AlreadyExistsError("taken"), 409),
    (vision.UnusableImageError("a black image"), 422),
    (vision.NearDuplicateError("looks alike"), 409),
    (bandit.SnapshotError("damaged"), 503),
    (bandit.InvalidFeatureError("bad"), 400),
    (simulator.MissingColumnError("no column", role="reward"), 400),
    (api.TooLargeError("big"), 413),
    (api.UnknownIdError("no job"), 404),
    (ValueError("a bug"), 500),
])
def test_status_of_errors(error, status):
    assert status_for(error) == status


def test_http_messages_carry_no_command_line_advice():
    assert message_for(catalog.NotFoundError("no title 'x'")) == "no title 'x'"
    assert "try again" in message_for(catalog.JournalError("disk full"))
