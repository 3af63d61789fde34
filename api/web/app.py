"""The Flask app factory: configuration read once, services started, the API and the studio wired in."""
from __future__ import annotations

import atexit
import time
from typing import Any, Mapping

from flask import Flask, g, request

from api import studio
from api.config import Config, load_config
from api.errors import TooLargeError
from api.runtime.services import Launch, Services
from api.web import creatives, crops, ops, privacy, serving
from api.web.errors import register_error_handlers
from api.web.headers import add_security_headers
from api.web.requests import body_limit


def create_app(test_config: Mapping[str, Any] | Config | None = None,
               launch: Launch | None = None) -> Flask:
    """Build the app: configuration read once, services started, blueprints registered.

    `launch` is what `artbandit serve` checked and set up before starting the workers.
    """
    config = test_config if isinstance(test_config, Config) else load_config(overrides=test_config)
    app = Flask(__name__)
    app.config["ARTBANDIT"] = config
    app.json.sort_keys = False
    svc = Services.start(config, launch)
    app.extensions["artbandit"] = svc
    atexit.register(svc.close)

    register_error_handlers(app)
    for blueprint in (serving.bp, creatives.bp, ops.bp, privacy.bp, crops.bp):
        app.register_blueprint(blueprint)
    studio.register(app)

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        # Each route's own body limit; Werkzeug refuses a larger body with 413 before a
        # view reads it, and a declared length over it is refused before anything is read.
        limit = request.max_content_length = body_limit(request.endpoint, config)
        if (request.content_length or 0) > limit:
            raise TooLargeError(f"request bodies are limited to {limit} bytes here")

    @app.after_request
    def _observe(response):
        started = g.get("started")
        svc.metrics.observe(request.endpoint or "unknown",
                            None if started is None else time.perf_counter() - started,
                            response.status_code)
        return add_security_headers(response)

    return app
