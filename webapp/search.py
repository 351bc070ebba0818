"""The search pages: the home page with its box, then ranked sources with filters and pagination.

A search is one :class:`SearchPage`, built once and served as ``/search`` and ``/api/search``
(the JSON contract in the README; see ``webapp/resource.py`` for the vocabulary).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from flask import Blueprint, render_template, request, url_for

from index.errors import QueryError
from index.facets import FACETS, FacetSelection, FacetTable
from index.results import SearchResponse
from webapp.gaps import record_search
from webapp.index_handle import get_index
from webapp.resource import Resource, document_url, route
from webapp.views import facet_args, search_args, settings

bp = Blueprint("search", __name__)
api = Blueprint("search_api", __name__, url_prefix="/api")

FACET_TITLES = {"type": "Type", "year": "Year", "council": "Council", "theme": "Theme", "project": "Project",
                "judgement": "Inspection judgement"}
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
    return render_template("search/index.html", q=q, max_chars=settings().max_query_chars, message=message,
                           facets=None), status


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    return {"results_url": results_url, "facet_titles": FACET_TITLES, "facet_shown": FACET_SHOWN}


@bp.get("/")
def home():
    return _form_page("")


def search_json(response: SearchResponse) -> dict[str, Any]:
    """The JSON contract (``SearchResponse.to_dict()``) with our own pages: ``page_url`` on each result
    and each passage."""
    data = response.to_dict()
    for result in data["results"]:
        source_id = result["source_id"]
        result["page_url"] = document_url(source_id)
        for passage in result["passages"]:
            passage["page_url"] = document_url(source_id, passage["ordinal"])
    return data


@dataclass
class SearchPage(Resource):
    template: ClassVar[str] = "search/results.html"
    q: str
    response: SearchResponse
    facets: FacetSelection
    table: FacetTable
    top_k_arg: str | None

    def context(self) -> dict[str, Any]:
        # The search box above the results: no error message there (mistakes get the form page).
        return {**super().context(), "message": None, "max_chars": settings().max_query_chars}

    def to_json(self) -> dict[str, Any]:
        return search_json(self.response)


def build_search() -> SearchPage:
    """Ranked sources for ``q``, or with no ``q`` the sources having the chosen facet values, newest first.

    :raises QueryError: for a parameter or query the user must change (no words and no filter included).
    """
    q, top_k, page = search_args()
    facets = facet_args()
    if not q.strip() and not facets:
        raise QueryError("Enter some words to search for, for example: adolescents edge of care.")
    searcher = get_index().searcher()
    response = (searcher.search(q, top_k=top_k, page=page, facets=facets) if q.strip()
                else searcher.browse_sources(facets, top_k=top_k, page=page))
    record_search(q, facets, response)  # issue 14 item 9: counts searches that found little (webapp/gaps.py)
    return SearchPage(q, response, facets, searcher.facet_table, request.args.get("top_k"))


@bp.get("/search")
def results():
    try:
        found = build_search()
    except QueryError as exc:
        # The page answers a mistake with the search box, the words kept and the message beside it.
        q = request.args.get("q", "")
        return _form_page(q[: settings().max_query_chars * 2], str(exc), 400)
    return render_template(found.template, **found.context())


route(None, api, "/search", "search", build_search)
