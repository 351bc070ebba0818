"""Errors become pages (or JSON under /api/) that say what to do; never a traceback."""

from __future__ import annotations

import logging

import psycopg
from flask import Flask, jsonify, render_template, request, url_for
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from index.errors import (
    IndexIncompatibleError,
    IndexNotFoundError,
    KBError,
    PageOutOfRangeError,
    QueryError,
    StoreUnavailableError,
    UnknownValueError,
)

logger = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, code: str, message: str, title: str, headers: dict[str, str] | None = None,
                   link: tuple[str, str] | None = None, extra: dict[str, object] | None = None):
    """The error as JSON under /api/ (``extra`` beside code and message) or as a page (with ``link``: its text
    and address, e.g. the last page of results)."""
    if _wants_json():
        return jsonify({"error": {"code": code, "message": message, **(extra or {})}}), status, headers or {}
    return (render_template("errors/error.html", status=status, title=title, message=message, link=link),
            status, headers or {})


def init_app(app: Flask) -> None:
    @app.errorhandler(PageOutOfRangeError)
    def past_the_last_page(exc: PageOutOfRangeError):
        args = request.args.to_dict(flat=False)
        args["page"] = [str(exc.pages)]
        last = url_for(request.endpoint or "search.results", **args)  # type: ignore[arg-type]  # repeated parameters
        return error_response(404, "page_not_found", str(exc).capitalize(), "There is no such page of results",
                              link=(f"Go to the last page (page {exc.pages})", last),
                              extra={"pages": exc.pages, "last_page_url": last})

    @app.errorhandler(UnknownValueError)
    def unknown_value(exc: UnknownValueError):
        return error_response(400, "unknown_value", str(exc), "Check your filters",
                              extra={"parameter": exc.name, "value": exc.value,
                                     "known": [slug for slug, _ in exc.known[:50]]})

    @app.errorhandler(QueryError)
    def bad_query(exc: QueryError):
        return error_response(400, "bad_request", str(exc), "Check your search")

    @app.errorhandler(IndexNotFoundError)
    def no_index(exc: IndexNotFoundError):
        return error_response(503, "no_index", str(exc), "The index is not built yet")

    @app.errorhandler(IndexIncompatibleError)
    def incompatible(exc: IndexIncompatibleError):
        logger.error("%s", exc)
        return error_response(503, "index_incompatible", str(exc), "The index needs rebuilding")

    @app.errorhandler(StoreUnavailableError)
    @app.errorhandler(psycopg.OperationalError)
    @app.errorhandler(PoolTimeout)
    def store_unavailable(exc: Exception):
        # The shared database is down, restarting or out of connections: the operators' problem, said plainly,
        # and a status a load balancer and a client retry on. The details (host, error) go to the log only.
        logger.error("The index store cannot be reached: %s", exc)
        return error_response(503, "store_unavailable", "The search index cannot be reached just now. Try again "
                              "in a minute; if it keeps happening, tell the site's operators.",
                              "Search is unavailable", {"Retry-After": "30"})

    @app.errorhandler(KBError)
    def domain_error(exc: KBError):
        logger.error("%s", exc)
        return error_response(500, "error", str(exc), "Something went wrong")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {404: "There is no page at this address. Start again from the search page.",
                    405: "This address does not accept that method."}
        message = messages.get(exc.code or 500, exc.description or "The request could not be handled.")
        # Keep the exception's own headers (Allow on a 405, as RFC 9110 requires), not its HTML body's type.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return error_response(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), message,
                              exc.name or "Error", headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        logger.exception("Unexpected error on %s", request.path)
        return error_response(500, "internal_error", "Something went wrong on our side; it has been logged. "
                              "Try again, and tell the site's operators if it keeps happening.", "Something went wrong")
