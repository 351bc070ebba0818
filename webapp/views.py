"""Shared view helpers: reading request parameters into checked values, template filters."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from flask import Flask, current_app, request, url_for

from index.params import checked_sort, paging_args, single, whole_number
from index.search.facets import FACETS, FacetSelection
from index.settings import Settings


def settings() -> Settings:
    return current_app.config["KB_SETTINGS"]


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within [low, high] (the rule is :func:`index.params.whole_number`).

    :raises QueryError: naming the parameter and its allowed range.
    """
    return whole_number(name, request.args.get(name), default, low, high)


def search_args() -> tuple[str, int, int]:
    """``(q, top_k, page)`` from the query string, checked against the paging limits.

    :raises QueryError: naming the parameter.
    """
    args = {name: single(name, request.args.getlist(name)) for name in ("q", "top_k", "page")}
    return args["q"] or "", *paging_args(args["top_k"], args["page"], settings())


def facet_args() -> FacetSelection:
    """The facet filters of the query string (``type``, ``year``, ``council``, ``theme``, ``project``,
    ``judgement``) and the year range (``from``, ``to``), checked.

    :raises QueryError: naming the parameter, for an over-long or malformed value or a range that ends before it starts.
    """
    return FacetSelection.parse({facet: request.args.getlist(facet) for facet in FACETS},
                                single("from", request.args.getlist("from")), single("to", request.args.getlist("to")))


def sort_arg() -> str:
    """``relevance`` (the default) or ``date``, from ``?sort=``.

    :raises QueryError: naming the parameter and the values it may take.
    """
    return checked_sort(single("sort", request.args.getlist("sort")))


@cache
def _asset_version(filename: str) -> str:
    try:
        data = resources.files("webapp").joinpath("static", filename).read_bytes()
    except (FileNotFoundError, OSError):
        return "missing"
    return hashlib.sha256(data).hexdigest()[:10]


def asset_url(filename: str) -> str:
    """URL of a static file with a content hash, so browsers may cache it for a long time."""
    return url_for("static", filename=filename, v=_asset_version(filename))


# The service navigation: (endpoint, text, blueprint it is active for).
NAVIGATION: list[tuple[str, str, str]] = [("search.home", "Search", "search"), ("browse.projects", "Projects", ""),
                                          ("browse.councils", "Councils", ""), ("browse.themes", "Themes", "")]


def nav_items() -> list[dict[str, object]]:
    """Service navigation items for GOV.UK's service navigation component."""
    current = request.endpoint or ""
    return [{"href": url_for(endpoint), "text": text,
             "active": current.startswith(blueprint) if blueprint else current.startswith(endpoint.rstrip("s"))}
            for endpoint, text, blueprint in NAVIGATION if endpoint.split(".")[0] in current_app.blueprints]


def http_url(value: str | None) -> str | None:
    """The URL if it is http(s), else None: a source's URL comes from the document, and a
    ``javascript:`` one must never become a link."""
    return value if value and value.lower().startswith(("http://", "https://")) else None


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
    from index.search.highlight import excerpt

    app.jinja_env.filters["excerpt"] = excerpt
    app.jinja_env.filters["shortdate"] = shortdate
    app.jinja_env.filters["http_url"] = http_url
    app.jinja_env.globals["asset_url"] = asset_url
    app.jinja_env.globals["nav_items"] = nav_items

    @app.context_processor
    def index_freshness() -> dict[str, str | None]:
        from index.errors import KBError
        from webapp.index_handle import get_index

        try:
            created = get_index().searcher().generation.manifest.created
        except KBError:
            created = None
        return {"index_updated": shortdate(created) if created else None}
