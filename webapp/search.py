"""The search pages: the home page with its box, then ranked sources with filters and pagination."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for

from index.errors import QueryError
from index.facets import FACETS, FacetSelection
from webapp.index_handle import get_index
from webapp.views import facet_args, search_args, settings

bp = Blueprint("search", __name__)

FACET_TITLES = {"type": "Type", "year": "Year", "council": "Council", "theme": "Theme", "project": "Project"}
# Values listed per facet before "and N more" (selected values are always listed).
FACET_SHOWN = 12


def results_url(q: str, page: int | None = None, facets: FacetSelection | None = None,
                top_k: str | None = None) -> str:
    """URL of a results page; facets become repeated parameters (``&council=hackney&council=...``)."""
    if not q and not facets:
        return url_for("search.home")
    args: dict[str, Any] = {"q": q}
    if page and page > 1:
        args["page"] = page
    if top_k:
        args["top_k"] = top_k
    for facet in FACETS:
        values = (facets.values.get(facet) if facets else None) or ()
        if values:
            args[facet] = list(values)
    return url_for("search.results", **args)


def _form_page(q: str, message: str | None = None, status: int = 200):
    return render_template("search/index.html", q=q, max_chars=settings().max_query_chars, message=message), status


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    return {"results_url": results_url, "facet_titles": FACET_TITLES, "facet_shown": FACET_SHOWN}


@bp.get("/")
def home():
    return _form_page("")


@bp.get("/search")
def results():
    q, top_k, page = search_args()
    searcher = get_index().searcher()
    try:
        facets = facet_args()
        if not q.strip() and not facets:
            return _form_page("", "Enter some words to search for, for example: adolescents edge of care.", 400)
        response = (searcher.search(q, top_k=top_k, page=page, facets=facets) if q.strip()
                    else searcher.browse_sources(facets, top_k=top_k, page=page))
    except QueryError as exc:
        return _form_page(q[: settings().max_query_chars * 2], str(exc), 400)
    return render_template("search/results.html", q=q, response=response, facets=facets,
                           table=searcher.facet_table, top_k_arg=request.args.get("top_k"))
