"""The security headers every response carries, API and studio alike."""
from __future__ import annotations

from flask import Response

# Scripts and styles only from files the server serves (no inline script, no eval), images
# also as data: URLs (the charts), and no page of ours inside anyone's frame.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    """Set the security headers on a response (after_request)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response
