"""The services of the app handling the current request."""
from __future__ import annotations

from flask import current_app

from api.runtime.services import Services


def services() -> Services:
    """The services of the app handling the current request."""
    return current_app.extensions["artbandit"]
