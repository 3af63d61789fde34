"""Who is asking: a user's API token (bearer) or studio session, each with the user's role.

Until the first user exists, the configured token (if any) acts as an admin, for the API and
for a first sign-in to the studio: a bootstrap, and nothing is ever signed with it.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import current_app, request, session

from artwork.accounts import role_allows
from artwork.audit import Actor, acting
from artwork.errors import NotFoundError

from api.errors import ForbiddenError, NotReadyError, UnauthorizedError
from api.web.current import services

BOOTSTRAP = "@bootstrap"  # not a valid user name, so no user can be mistaken for it
SESSION_ID = "sid"  # the key of the session id in the studio's cookie
_BEARER_FAILURES = "@bearer"  # what failed bearer tokens are counted under, per client


@dataclass(frozen=True)
class Principal:
    """A signed-in user (or the bootstrap token), their role, and how they came in."""

    name: str
    role: str
    via: str  # "api" or "studio"

    def actor(self) -> Actor:
        """This principal as the audit trail records it: name, client address and way in."""
        return Actor(self.name, f"{client_address()} via {self.via}")


def client_address() -> str:
    """The client's address as this server sees it."""
    return request.remote_addr or "unknown"


def _bootstrap_token() -> str:
    """The configured token while it is a bootstrap (no user yet), else ""."""
    token = current_app.config["ARTBANDIT"].token
    return token if token and not services().store.accounts.has_users() else ""


def check_open() -> None:
    """NotReadyError while nobody can sign in: no user and no bootstrap token."""
    if not current_app.config["ARTBANDIT"].token and not services().store.accounts.has_users():
        raise NotReadyError("no one can sign in yet: add a user with `artbandit user add NAME "
                            "--role admin` (or set ARTBANDIT_TOKEN for a first sign-in)")


def matches_bootstrap(given: str) -> bool:
    """Whether `given` is the bootstrap token while it is one (constant-time comparison)."""
    token = _bootstrap_token()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def bearer_principal() -> Principal | None:
    """The principal of the request's bearer token; None without one; 403 for a wrong one."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        raise UnauthorizedError("send your API token as `Authorization: Bearer TOKEN`")
    accounts = services().store.accounts
    accounts.check_throttle(client_address(), _BEARER_FAILURES)
    user = accounts.user_for_token(given)
    if user is not None:
        return Principal(user.name, user.role, "api")
    if matches_bootstrap(given):
        return Principal(BOOTSTRAP, "admin", "api")
    accounts.record_failure(client_address(), _BEARER_FAILURES)
    raise ForbiddenError("wrong token: that API token is unknown or revoked; create one with "
                         "`artbandit user token create NAME`")


def session_principal() -> Principal | None:
    """The principal of the request's studio session, or None (no, ended or expired session)."""
    sid = session.get(SESSION_ID)
    if not isinstance(sid, str):
        return None
    accounts = services().store.accounts
    name = accounts.session_user(sid)
    if name is None:
        return None
    if name == BOOTSTRAP:
        return Principal(BOOTSTRAP, "admin", "studio") if _bootstrap_token() else None
    try:
        user = accounts.get_user(name)
    except NotFoundError:  # a session of a user since removed
        return None
    return None if user.disabled else Principal(user.name, user.role, "studio")


def signed_in_principal() -> Principal | None:
    """Whoever the request comes from, by bearer token or studio session; None if anonymous."""
    return bearer_principal() or session_principal()


def require_role(role: str) -> Callable[[Callable], Callable]:
    """Decorator: the view needs a bearer token of a user with at least `role`; the changes it
    makes are audited as that user's."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            check_open()
            principal = bearer_principal()
            if principal is None:
                raise UnauthorizedError("send your API token as `Authorization: Bearer TOKEN`")
            if not role_allows(principal.role, role):
                raise ForbiddenError(f"this needs the {role} role; {principal.name} is "
                                     f"{principal.role} (an admin can change that)")
            with acting(principal.actor()):
                return view(*args, **kwargs)

        return wrapped

    return decorate
