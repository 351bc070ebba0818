"""The web front end: search page, document pages and the JSON API (Flask application factory).

Usage::

    app = create_app({"KB_SETTINGS": settings})
    app.run()
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType
from typing import Any

import govuk_frontend_jinja
from flask import Flask, request
from jinja2 import StrictUndefined, Undefined
from jinja2.runtime import Macro

from index import offline  # noqa: F401  (before any Haystack or Hugging Face import)
from index.settings import Settings, load_settings

_VENDOR_TEMPLATES = str(Path(govuk_frontend_jinja.__file__).parent)


class OwnTemplatesStrictUndefined(StrictUndefined):
    """``StrictUndefined`` for our templates, Jinja's default ``Undefined`` inside GOV.UK's macros.

    GOV.UK Frontend's macros test optional parameters by reading them (``{% if params.classes %}``),
    which ``StrictUndefined`` refuses; our templates and views must never read a missing name. A
    compiled template's code carries its file name, so the nearest template frame tells whose it is.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Undefined:  # type: ignore[misc]
        frame: FrameType | None = sys._getframe(1)
        for _ in range(6):
            if frame is None:
                break
            owner = frame.f_locals.get("self")
            # A macro's ``caller`` is made undefined while calling it, before its own code runs.
            code = owner._func.__code__ if isinstance(owner, Macro) else frame.f_code
            if code.co_filename.endswith(".html"):
                if code.co_filename.startswith(_VENDOR_TEMPLATES):
                    return Undefined(*args, **kwargs)
                break
            frame = frame.f_back
        return super().__new__(cls)


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
    # A misspelt or renamed variable fails the render (and the tests) instead of showing an empty page.
    app.jinja_env.undefined = OwnTemplatesStrictUndefined
    settings: Settings = app.config.get("KB_SETTINGS") or load_settings(overrides=app.config.get("KB_OVERRIDES"))
    app.config["KB_SETTINGS"] = settings

    from flask_compress import Compress

    from webapp import (
        api,
        browse,
        documents,
        errors,
        gaps,
        index_handle,
        search,
        security,
        service,
        source_page,
        takeaway,
        views,
    )

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
    gaps.init_app(app, settings)
    views.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(search.bp)
    app.register_blueprint(search.api)
    app.register_blueprint(documents.bp)
    app.register_blueprint(documents.api)
    app.register_blueprint(browse.bp)
    app.register_blueprint(browse.api)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.health)
    app.register_blueprint(service.bp)
    app.register_blueprint(service.api)
    takeaway.init_app(app)
    source_page.init_app(app)
    from webapp import ops, pasted  # rate limits, trusted proxies and /metrics; pasted texts held under an id

    pasted.init_app(app)

    ops.init_app(app, settings)
    return app
