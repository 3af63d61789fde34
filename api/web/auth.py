"""The creatives' bearer token."""
from __future__ import annotations

import hmac
from functools import wraps
from typing import Callable

from flask import current_app, request

from api.errors import ForbiddenError, NotReadyError, UnauthorizedError


def check_token(header: str | None, token: str) -> None:
    """Raise 401 without a bearer token, 403 with a wrong one, 503 when none is configured."""
    if not token:
        raise NotReadyError("the creatives' API is off: set ARTBANDIT_TOKEN (or `token` in the config)")
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise UnauthorizedError("send the creatives' token as `Authorization: Bearer TOKEN`")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ForbiddenError("wrong token for the creatives' API")


def require_token(view: Callable) -> Callable:
    """Decorator for views that only creatives may call."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        check_token(request.headers.get("Authorization"), current_app.config["ARTBANDIT"].token)
        return view(*args, **kwargs)

    return wrapped
