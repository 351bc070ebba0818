"""Shared view helpers: reading request parameters into checked values, template filters."""

from __future__ import annotations

from flask import Flask, current_app, request

from index.errors import QueryError
from index.settings import Settings


def settings() -> Settings:
    return current_app.config["KB_SETTINGS"]


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high].

    :raises QueryError: naming the parameter and its allowed range.
    """
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, got {raw[:20]!r}.") from None
    if not low <= value <= high:
        raise QueryError(f"{name} must be from {low} to {high}, got {value}.")
    return value


def search_args() -> tuple[str, int, int]:
    """``(q, top_k, page)`` from the query string, checked."""
    s = settings()
    q = request.args.get("q", "")
    return q, int_arg("top_k", s.top_k, 1, s.max_top_k), int_arg("page", 1, 1, s.max_page)


def shortdate(value: str | None) -> str:
    """'2016-10-05T09:15:00+00:00' → '5 Oct 2016'."""
    from datetime import datetime

    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return f"{parsed.day} {parsed:%b %Y}"


def init_app(app: Flask) -> None:
    from index.highlight import excerpt

    app.jinja_env.filters["excerpt"] = excerpt
    app.jinja_env.filters["shortdate"] = shortdate

    @app.context_processor
    def index_freshness() -> dict[str, str | None]:
        from index.errors import KBError
        from webapp.index_handle import get_index

        try:
            created = get_index().searcher().generation.manifest.created
        except KBError:
            created = None
        return {"index_updated": shortdate(created) if created else None}
