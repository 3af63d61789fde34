"""The Flask app factory: configuration read once, services started, the API and the studio wired in."""
from __future__ import annotations

import atexit
import time
from typing import Any, Mapping

from flask import Flask, g, request

from api import studio
from api.config import Config, load_config
from api.runtime.services import Services
from api.web import creatives, ops, serving
from api.web.errors import register_error_handlers


def create_app(test_config: Mapping[str, Any] | Config | None = None) -> Flask:
    """Build the app: configuration read once, services started, blueprints registered."""
    config = test_config if isinstance(test_config, Config) else load_config(overrides=test_config)
    app = Flask(__name__)
    app.config["ARTBANDIT"] = config
    # Werkzeug refuses larger bodies with 413 before a view reads them.
    app.config["MAX_CONTENT_LENGTH"] = max(config.max_upload_bytes * 8, config.max_video_bytes)
    app.json.sort_keys = False
    svc = Services.start(config)
    app.extensions["artbandit"] = svc
    atexit.register(svc.close)

    register_error_handlers(app)
    for blueprint in (serving.bp, creatives.bp, ops.bp):
        app.register_blueprint(blueprint)
    studio.register(app)

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.get("started")
        svc.metrics.observe(request.endpoint or "unknown",
                            None if started is None else time.perf_counter() - started,
                            response.status_code)
        return response

    return app
