"""Studio sign-in and error pages: the creatives' token checked once, then remembered in a signed session cookie.

Pages behind the studio redirect to the sign-in form; the studio's own JSON endpoints answer
401 instead. Every form carries a per-session CSRF token, checked on each POST.
"""
from __future__ import annotations

import hashlib
import logging
import hmac
import secrets
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, current_app, jsonify, redirect, render_template, request,
                   session, url_for)
from werkzeug.exceptions import HTTPException

from api.errors import ForbiddenError, NotReadyError, UnauthorizedError
from api.web.errors import message_for, status_for
from api.web.requests import form_value

log = logging.getLogger(__name__)

bp = Blueprint("studio_auth", __name__, url_prefix="/studio")

_SESSION_KEY = "studio_auth"
_CSRF_KEY = "studio_csrf"


def configure_sessions(app: Flask) -> None:
    """Give the app a session secret (derived from the token, so every worker agrees) and safe cookies."""
    token = app.config["ARTBANDIT"].token
    if not app.secret_key:
        # Anyone holding the token can sign in anyway, so deriving the key from it adds no risk,
        # and every gunicorn worker computes the same key without sharing state.
        seed = token.encode() if token else secrets.token_bytes(32)
        app.secret_key = hashlib.sha256(b"artbandit-studio-session\0" + seed).hexdigest()
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.jinja_env.globals["csrf_token"] = csrf_token


def _token() -> str:
    return current_app.config["ARTBANDIT"].token


def _digest(token: str) -> str:
    return hashlib.sha256(b"artbandit-studio-user\0" + token.encode()).hexdigest()


def signed_in() -> bool:
    """Whether this session signed in with the token currently configured."""
    token = _token()
    given = session.get(_SESSION_KEY)
    return bool(token) and isinstance(given, str) and hmac.compare_digest(given, _digest(token))


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
    """before_request of every studio area: sign-in (redirect for pages, 401 for JSON) and CSRF."""
    if not _token():
        raise NotReadyError("the studio is off: set ARTBANDIT_TOKEN (or `token` in the config)")
    if not signed_in():
        if request.path.endswith(".json"):
            raise UnauthorizedError("sign in to the studio first (/studio/login)")
        return redirect(url_for("studio_auth.login", next=request.full_path.rstrip("?")))
    check_csrf()
    return None


def _safe_next(target: str | None) -> str:
    # Only paths inside the studio: never an absolute or protocol-relative URL.
    if target and target.startswith("/studio") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("studio.titles")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form, and signing in with the creatives' token."""
    if not _token():
        raise NotReadyError("the studio is off: set ARTBANDIT_TOKEN (or `token` in the config)")
    error = None
    status = 200
    if request.method == "POST":
        check_csrf()
        given = request.form.get("token", "")
        if hmac.compare_digest(given.strip().encode(), _token().encode()):
            session.clear()
            session[_SESSION_KEY] = _digest(_token())
            return redirect(_safe_next(request.form.get("next")))
        error, status = "That token is not the creatives' token. Check it and try again.", 403
    return render_template("login.html", error=error, next=request.values.get("next", "")), status


@bp.post("/logout")
def logout():
    """Sign out: forget the session."""
    check_csrf()
    session.clear()
    return redirect(url_for("studio_auth.login"))


def error_page(exc: Exception):
    """Studio errors as a page (JSON for the studio's .json endpoints), with the API's status codes."""
    if isinstance(exc, HTTPException):
        status, message = exc.code or 500, exc.description or exc.name
        if status == 413:
            message = "That upload is larger than the server accepts; send smaller files or fewer at once."
    else:
        status, message = status_for(exc), message_for(exc)
    if status == 500:
        log.exception("unhandled error in the studio")
        message = "Something went wrong on the server; the server log has the details."
    if request.path.endswith(".json"):
        return jsonify({"error": message, "status": status}), status
    return render_template("error.html", status=status, message=message), status


bp.register_error_handler(Exception, error_page)
