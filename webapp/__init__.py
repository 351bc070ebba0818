"""The web front end: search page, document pages and the JSON API (Flask application factory).

Usage::

    app = create_app({"KB_SETTINGS": settings})
    app.run()
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from index import _env  # noqa: F401  (before any Haystack or Hugging Face import)
from index.settings import Settings, load_settings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``test_config`` may hold ``KB_SETTINGS`` (a Settings) or ``KB_OVERRIDES`` (a dict).

    Without either, settings come from defaults, ``$KB_CONFIG`` and ``KB_*`` variables.
    """
    from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

    app = Flask(__name__)
    app.config.update(test_config or {})
    app.config.setdefault("SEND_FILE_MAX_AGE_DEFAULT", 7 * 24 * 3600)  # static URLs carry a content hash
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "text/css", "application/json",
                                                 "text/javascript", "application/javascript", "image/svg+xml"])
    app.jinja_loader = ChoiceLoader([
        PackageLoader("webapp"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ])
    app.jinja_env.add_extension("jinja2.ext.do")
    settings: Settings = app.config.get("KB_SETTINGS") or load_settings(overrides=app.config.get("KB_OVERRIDES"))
    app.config["KB_SETTINGS"] = settings

    from flask_compress import Compress

    from webapp import api, browse, documents, errors, index_handle, search, security, views

    # Static files are read whole and then compressed (they are small, and browsers cache them for
    # a week under content-hashed URLs); flask-compress's streaming path leaves the file open.
    app.config.setdefault("COMPRESS_STREAMS", False)
    Compress(app)

    @app.after_request
    def buffer_static(response):  # registered after Compress, so it runs before it
        if request.endpoint == "static" and response.direct_passthrough and response.status_code == 200:
            body = response.response
            try:
                data = b"".join(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
            response.direct_passthrough = False
            response.set_data(data)
        return response

    index_handle.init_app(app, settings)
    views.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(search.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(browse.bp)
    app.register_blueprint(browse.api)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.health)
    return app
