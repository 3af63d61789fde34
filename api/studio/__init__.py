"""The studio: server-rendered pages for creatives and analysts, behind sign-in."""
from __future__ import annotations

from flask import Flask

from api.studio import analyses, auth, charts, history, pages, reports
from api.studio import experiments, insights  # noqa: F401  (their views are the studio blueprint's)


def register(app: Flask) -> None:
    """Add the studio's blueprints, its session set-up, its chart helpers and its analyses cache to the app."""
    auth.configure_sessions(app)
    app.extensions[analyses.KEY] = analyses.LogAnalyses()
    app.jinja_env.globals.update(interval_chart=charts.interval_chart, share_bar=charts.share_bar,
                                 artwork_history=history.artwork_history)
    for blueprint in (auth.bp, pages.bp, reports.bp):
        app.register_blueprint(blueprint)
