"""The web front end: search page, document pages and the JSON API (Flask application factory).

Usage::

    app = create_app({"KB_SETTINGS": settings})
    app.run()
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from index import _env  # noqa: F401  (before any Haystack or Hugging Face import)
from index.settings import Settings, load_settings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``test_config`` may hold ``KB_SETTINGS`` (a Settings) or ``KB_OVERRIDES`` (a dict).

    Without either, settings come from defaults, ``$KB_CONFIG`` and ``KB_*`` variables.
    """
    app = Flask(__name__)
    app.config.update(test_config or {})
    settings: Settings = app.config.get("KB_SETTINGS") or load_settings(overrides=app.config.get("KB_OVERRIDES"))
    app.config["KB_SETTINGS"] = settings

    from webapp import api, documents, errors, index_handle, search, views

    index_handle.init_app(app, settings)
    views.init_app(app)
    errors.init_app(app)
    app.register_blueprint(search.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.health)
    return app
