"""Studio sign-in, sign-out and error pages, with server-side sessions.

Signing in with a user name and password starts a session whose id the cookie carries (the
database keeps only its digest), so signing out or disabling a user ends it at once. The
cookie is signed with the data directory's random key (never one derived from a credential),
and holds the session id and the per-session CSRF token every form carries. Pages behind the
studio redirect to the sign-in form; the studio's own JSON endpoints answer 401 instead.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, current_app, g, jsonify, redirect, render_template, request,
                   session, url_for)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from artwork.accounts import SESSION_SECONDS, role_allows, session_secret
from artwork.audit import reset_actor, set_actor

from api.errors import ForbiddenError, UnauthorizedError
from api.web.auth import (BOOTSTRAP, SESSION_ID, check_open, client_address, matches_bootstrap,
                          session_principal)
from api.web.current import services
from api.web.errors import message_for, retry_after_for, status_for
from api.web.requests import form_value

log = logging.getLogger(__name__)

bp = Blueprint("studio_auth", __name__, url_prefix="/studio")

_CSRF_KEY = "studio_csrf"
# Studio areas where a viewer may send forms too (replays read the log, they change nothing).
_VIEWER_POSTS = frozenset({"studio_reports"})


class SignedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer made once per key.

    Flask builds it on every request, cookie or not: a tenth of a bare request's time.
    """

    _made: tuple[tuple, object] = ((), None)

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made_for, serializer = self._made
        if made_for != keys:
            serializer = super().get_signing_serializer(app)
            self._made = (keys, serializer)
        return serializer


def configure_sessions(app: Flask) -> None:
    """Give the app the data directory's random cookie key, safe cookie flags and the CSRF helper."""
    config = app.config["ARTBANDIT"]
    app.session_interface = SignedCookieSessions()
    app.secret_key = session_secret(config.data_dir)
    app.config.update(SESSION_COOKIE_NAME="artbandit_studio", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=config.cookie_secure,
                      PERMANENT_SESSION_LIFETIME=int(SESSION_SECONDS))
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.teardown_request(_forget_actor)


def csrf_token() -> str:
    """This session's CSRF token (created on first use)."""
    value = session.get(_CSRF_KEY)
    if not isinstance(value, str):
        value = session[_CSRF_KEY] = secrets.token_urlsafe(24)
    return value


def check_csrf() -> None:
    """Refuse a POST whose form does not carry this session's CSRF token."""
    if request.method != "POST":
        return
    given = form_value("csrf") or ""
    expected = session.get(_CSRF_KEY)
    if not isinstance(expected, str) or not hmac.compare_digest(given, expected):
        raise ForbiddenError("this form has expired or did not come from the studio; reload the page and try again")


def guard() -> object | None:
    """before_request of every studio area: a live session (redirect for pages, 401 for JSON),
    the editor role to change anything, and CSRF. Static files need no session."""
    if request.endpoint and request.endpoint.endswith(".static"):
        return None
    check_open()
    principal = session_principal()
    if principal is None:
        if request.path.endswith(".json"):
            raise UnauthorizedError("sign in to the studio first (/studio/login)")
        return redirect(url_for("studio_auth.login", next=request.full_path.rstrip("?")))
    check_csrf()
    if (request.method == "POST" and request.blueprint not in _VIEWER_POSTS
            and not role_allows(principal.role, "editor")):
        raise ForbiddenError(f"your role ({principal.role}) may look but not change the "
                             "catalog; ask an admin for the editor role")
    g.principal = principal
    g.actor_token = set_actor(principal.actor())
    return None


def _forget_actor(_exc: BaseException | None = None) -> None:
    token = g.pop("actor_token", None)
    if token is not None:
        reset_actor(token)


def _safe_next(target: str | None) -> str:
    # Only paths inside the studio: never an absolute or protocol-relative URL.
    if target and target.startswith("/studio") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("studio.titles")


def _start_session(name: str) -> None:
    session.clear()  # a fresh CSRF token and session id: nothing carries over from before
    session[SESSION_ID] = services().store.accounts.start_session(name, client_address())


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form, and signing in with a user name and password."""
    check_open()
    if request.method == "GET":
        return render_template("login.html", error=None, next=request.args.get("next", ""))
    check_csrf()
    accounts = services().store.accounts
    name = (request.form.get("name") or "").strip().lower()
    password = request.form.get("password") or ""
    if not accounts.has_users() and current_app.config["ARTBANDIT"].token:
        # First run: the configured token signs in as the bootstrap admin.
        accounts.check_throttle(client_address(), BOOTSTRAP)
        if not matches_bootstrap(password):
            accounts.record_failure(client_address(), BOOTSTRAP)
            return render_template("login.html", error="No user exists yet: sign in with the "
                                   "configured token as the password.",
                                   next=request.form.get("next", ""), name=name), 401
        _start_session(BOOTSTRAP)
    else:
        accounts.authenticate(name, password, client_address())
        _start_session(name)
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    """Sign out: end the session on the server, then forget the cookie."""
    check_csrf()
    sid = session.get(SESSION_ID)
    if isinstance(sid, str):
        services().store.accounts.end_session(sid)
    session.clear()
    return redirect(url_for("studio_auth.login"))


def error_page(exc: Exception):
    """Studio errors as a page (JSON for the studio's .json endpoints), with the API's status codes."""
    retry_after = None
    if isinstance(exc, HTTPException):
        status, message = exc.code or 500, exc.description or exc.name
        if status == 413:
            message = "That upload is larger than the server accepts; send smaller files or fewer at once."
    else:
        status, message, retry_after = status_for(exc), message_for(exc), retry_after_for(exc)
    if status == 500:
        log.exception("unhandled error in the studio")
        message = "Something went wrong on the server; the server log has the details."
    if request.path.endswith(".json"):
        response = jsonify({"error": message, "status": status})
    elif request.endpoint == "studio_auth.login":
        response = current_app.make_response(render_template(
            "login.html", error=message, next=request.values.get("next", ""),
            name=request.form.get("name", "")))
    else:
        response = current_app.make_response(render_template("error.html", status=status,
                                                             message=message))
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


bp.register_error_handler(Exception, error_page)
