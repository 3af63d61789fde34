"""The studio: server-rendered pages for creatives and analysts, behind sign-in."""
from __future__ import annotations

from flask import Flask

from api.studio import auth, pages, reports


def register(app: Flask) -> None:
    """Add the studio's blueprints, its session set-up and its insights cache to the app."""
    auth.configure_sessions(app)
    app.extensions[pages.INSIGHTS_KEY] = pages.InsightsCache()
    for blueprint in (auth.bp, pages.bp, reports.bp):
        app.register_blueprint(blueprint)
