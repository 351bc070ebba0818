"""The search pages: the home page with its box, then ranked sources with filters and pagination.

A search is one :class:`SearchPage`, built once and served as ``/search`` and ``/api/search``
(the JSON contract in the README; see ``webapp/resource.py`` for the vocabulary).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from index.errors import PageOutOfRangeError, QueryError
from index.params import SORTS, checked_value, single
from index.search.facets import FACETS, UNKNOWN_YEAR_LABEL, FacetSelection, FacetTable
from index.search.query import parse_query
from index.search.results import SearchResponse, SuggestedFilter
from webapp.gaps import record_search
from webapp.index_handle import get_index
from webapp.pasted import ExpiredTextError, is_pasted, query_args, text_for
from webapp.resource import Resource, document_url, route
from webapp.views import facet_args, search_args, settings, sort_arg

bp = Blueprint("search", __name__)
api = Blueprint("search_api", __name__, url_prefix="/api")

FACET_TITLES = {"type": "Type", "year": "Year", "council": "Council it is about", "mentions": "Councils it mentions",
                "theme": "Theme", "project": "Project", "judgement": "Inspection judgement"}
# Under a facet's title: what its values mean, where that is not plain.
FACET_HINTS = {"council": "The council inspected, the council that published it, or one its title names.",
               "mentions": "Every council its text names, even in passing."}
# How a chosen value reads in the heading of a list without words ("Sources about Hackney, on Early help").
FACET_PHRASES = {"type": "of type", "year": "from", "council": "about", "mentions": "mentioning", "theme": "on",
                 "project": "about", "judgement": "judged"}
# What a facet's values are called, in "Show all 143 councils" and "Find a council".
FACET_NOUNS = {"type": ("type", "types"), "year": ("year", "years"), "council": ("council", "councils"),
               "mentions": ("council", "councils"), "theme": ("theme", "themes"), "project": ("project", "projects"),
               "judgement": ("judgement", "judgements")}
# Values listed per facet, the most frequent first (selected values are always listed), before "Show all":
# a short list keeps the first result within a few Tab presses and a phone's screen.
FACET_SHOWN = 8
# A facet with at most this many more values lists them all: "Show all 9" to reveal one is no help.
FACET_SLACK = 2
# A query longer than this shows cut short in the page's heading and title, the whole of it behind "Show".
HEADING_CHARS = 60
NO_WORDS = "Enter some words to search for, for example: adolescents edge of care."
# Parameters a results page is made of, carried to a source's page so that "Back to results" returns to it.
STATE_PARAMS = ("q", "r", "page", "top_k", "sort", "from", "to", *FACETS)


def results_url(q: str, page: int | None = None, facets: FacetSelection | None = None,
                top_k: str | None = None, sort: str | None = None, show: str | None = None,
                find: str | None = None) -> str:
    """URL of a results page; facets become repeated parameters (``&council=hackney&council=...``).

    ``sort`` is kept only when it is not the default; ``show`` names a facet to list in full, ``find``
    narrows that list to the values containing it.
    """
    if not q and not facets:
        return url_for("search.home")
    # Pasted text travels as an id (``r``), never in the URL (webapp/pasted.py).
    args: dict[str, Any] = query_args(q) or {"q": ""}
    if page and page > 1:
        args["page"] = page
    if top_k:
        args["top_k"] = top_k
    if q and sort and sort != SORTS[0]:
        args["sort"] = sort
    if facets:
        args.update(facets.url_args())
    if show:
        args["show"] = show
        if find:
            args["find"] = find
    return url_for("search.results", **args)


def back_to_results_url() -> str | None:
    """On a source's page, the results page it was opened from (query, filters, sort and page), from the
    parameters the result's link carried; None when it was not opened from results."""
    args: dict[str, Any] = {name: request.args.getlist(name) for name in STATE_PARAMS if request.args.getlist(name)}
    if not args.get("q") and not args.get("r") and not any(facet in args for facet in FACETS):
        return None
    return url_for("search.results", **args)


@dataclass(frozen=True)
class FacetValue:
    slug: str
    label: str
    count: int
    checked: bool


@dataclass(frozen=True)
class FacetView:
    """One facet as the filters show it: the values listed, and how many it has in all."""

    facet: str
    title: str
    noun: str  # singular
    plural: str
    values: list[FacetValue]
    total: int  # values the facet has (with counts, or chosen)
    expanded: bool  # listing every value (?show=facet)
    find: str  # the text the list is narrowed to, when expanded

    @property
    def more(self) -> bool:
        """Whether it has more values than a short list shows."""
        return self.total > FACET_SHOWN + FACET_SLACK


def facet_views(counts: dict[str, dict[str, int]], facets: FacetSelection, table: FacetTable,
                show: str | None, find: str) -> list[FacetView]:
    """The facets to list, each with its most frequent values (or all of them, for the facet in ``show``)."""
    views = []
    for facet, facet_counts in counts.items():
        selected = facets.values.get(facet, ())
        every = [FacetValue(slug, table.label(facet, slug), count, slug in selected)
                 for slug, count in facet_counts.items()]
        every += [FacetValue(slug, table.label(facet, slug), 0, True) for slug in selected if slug not in facet_counts]
        if not every:
            continue
        expanded = show == facet
        if expanded:
            needle = find.casefold()
            shown = [v for v in every if v.checked or needle in v.label.casefold()]
        else:
            limit = FACET_SHOWN if len(every) > FACET_SHOWN + FACET_SLACK else len(every)
            shown = [v for at, v in enumerate(every) if at < limit or v.checked]
        noun, plural = FACET_NOUNS[facet]
        views.append(FacetView(facet, FACET_TITLES[facet], noun, plural, shown, len(every), expanded,
                               find if expanded else ""))
    return views


def _form_page(q: str, message: str | None = None, status: int = 200):
    return render_template("search/index.html", q=q, max_chars=settings().max_query_chars, message=message,
                           facets=None), status


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    return {"results_url": results_url, "facet_titles": FACET_TITLES, "facet_hints": FACET_HINTS,
            "back_to_results_url": back_to_results_url,
            "query_args": query_args}


@bp.get("/")
def home():
    return _form_page("")


def search_json(response: SearchResponse) -> dict[str, Any]:
    """The JSON contract (``SearchResponse.to_dict()``) with our own pages: ``page_url`` on each result
    and each passage."""
    data = response.to_dict()
    for suggestion in data["suggestions"]:
        suggestion["page_url"] = url_for("search.results", **query_args(suggestion["query"]))
    for offered in data["suggested_filters"]:
        offered["page_url"] = url_for("search.results", **query_args(data["query"]),
                                      **{offered["facet"]: offered["value"]})
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
    sort: str = SORTS[0]
    show: str | None = None  # a facet to list in full
    find: str = ""  # narrows that facet's list

    def context(self) -> dict[str, Any]:
        # The search box above the results: no error message there (mistakes get the form page).
        return {**super().context(), "message": None, "max_chars": settings().max_query_chars,
                "facet_list": facet_views(self.response.facets, self.facets, self.table, self.show, self.find),
                "heading": self.heading(), "state": self.state(), "query_words": self.query_words(),
                "pasted": self.pasted, "query_short": self.query_short(), "query_word_count": len(self.q.split()),
                "year_range": year_range_text(self.facets) if self.facets.has_range else "",
                "sort_urls": {sort: results_url(self.q, None, self.facets, self.top_k_arg, sort) for sort in SORTS},
                "suggested_url": self.suggested_url}

    def suggested_url(self, offered: SuggestedFilter) -> str:
        """The results with an offered filter taken (issue 24: names in the query as filters)."""
        values = dict(self.facets.values)
        values[offered.facet] = (*values.get(offered.facet, ()), offered.value)
        return results_url(self.q, None, FacetSelection(values, self.facets.year_from, self.facets.year_to),
                           self.top_k_arg, self.sort)

    def query_words(self) -> list[str]:
        """The words and phrases searched for (little words left out), as the page names them."""
        if not self.response.query:
            return []
        try:
            parsed = parse_query(self.response.query)
        except QueryError:
            return []
        # A pasted paragraph is not listed word by word.
        return [] if parsed.is_long else [term.text for term in parsed.content_terms()]

    @property
    def pasted(self) -> bool:
        """Whether the query is pasted text (held under an id, never in a URL, the page title or the heading)."""
        return is_pasted(self.q)

    def query_short(self) -> str:
        """The query as the page's title and heading name it: a pasted text as such, a long query cut short."""
        if not self.response.query:
            return ""
        if self.pasted:
            return "the text you pasted"
        return f"“{shortened(self.response.query)}”"

    def heading(self) -> str:
        if self.response.query:
            return f"Results for {self.query_short()}"
        chosen = [f"{FACET_PHRASES[facet]} {self.table.label(facet, value)}" for facet, value in self.facets.as_args()]
        chosen = [("with no known date" if phrase == f"from {UNKNOWN_YEAR_LABEL}" else phrase) for phrase in chosen]
        if self.facets.has_range:
            chosen.append(f"published {year_range_text(self.facets)}")
        return "Sources " + ", ".join(chosen)

    def state(self) -> dict[str, Any]:
        """The parameters of this results page, for the links to sources (so that they can come back to it)."""
        args: dict[str, Any] = query_args(self.q) or {"q": self.q}
        if self.response.page > 1:
            args["page"] = self.response.page
        if self.top_k_arg:
            args["top_k"] = self.top_k_arg
        if self.sort != SORTS[0]:
            args["sort"] = self.sort
        args.update(self.facets.range_args())
        args.update({facet: list(values) for facet, values in self.facets.values.items()})
        return args

    def to_json(self) -> dict[str, Any]:
        data = search_json(self.response)
        data["sort"] = self.sort
        return data


def shortened(text: str, limit: int = HEADING_CHARS) -> str:
    """``text`` cut at a word before ``limit`` characters, with "…" when it was cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(",;:.") + "…"


def year_range_text(facets: FacetSelection) -> str:
    """'2014 to 2016', 'from 2014', 'up to 2016'."""
    if facets.year_from is not None and facets.year_to is not None:
        return f"{facets.year_from} to {facets.year_to}" if facets.year_from != facets.year_to else str(facets.year_to)
    return f"from {facets.year_from}" if facets.year_from is not None else f"up to {facets.year_to}"


def build_search() -> SearchPage:
    """Ranked sources for ``q`` (best first, or newest first with ``sort=date``), or with no ``q`` the sources
    having the chosen facet values, newest first.

    :raises QueryError: for a parameter or query the user must change (no words and no filter included).
    """
    q, top_k, page = search_args()
    ref = single("r", request.args.getlist("r"))
    if ref and not q:
        q = text_for(ref)
    facets = facet_args()
    sort = sort_arg()
    show = single("show", request.args.getlist("show"))
    show = show if show in FACETS else None
    find = checked_value("find", (single("find", request.args.getlist("find")) or "").strip())
    if not q.strip() and not facets:
        raise QueryError(NO_WORDS)
    served = get_index().served()
    response = (served.searcher.search(q, top_k=top_k, page=page, facets=facets, sort=sort) if q.strip()
                else served.listing(facets, top_k=top_k, page=page))
    record_search(q, facets, response)  # issue 14 item 9: counts searches that found little (webapp/gaps.py)
    return SearchPage(q, response, facets, served.facet_table, request.args.get("top_k"),
                      sort if q.strip() else "date", show, find)


def _redirect_holding(q: str, args: MultiDict[str, str]):
    """303 to the results page of ``q`` with ``args``' other parameters: pasted text as an id (``r``)."""
    target: dict[str, Any] = query_args(q) or {"q": ""}
    target.update({name: args.getlist(name) for name in (*STATE_PARAMS, "show", "find")
                   if name not in ("q", "r") and args.getlist(name)})
    return redirect(url_for("search.results", **target), 303)


@bp.post("/search")
def submit():
    """The search box posts its words, so that a pasted text never enters a URL (browser history, proxy
    logs): words typed come back as ``/search?q=…``, pasted text as ``/search?r=<id>`` (webapp/pasted.py)."""
    form = request.form
    q = single("q", form.getlist("q")) or ""
    if not q.strip() and not any(form.getlist(facet) for facet in FACETS):
        return _form_page("", NO_WORDS, 400)
    try:
        if q.strip():
            parse_query(q, settings().max_query_chars)
    except QueryError as exc:
        return _form_page(q[: settings().max_query_chars * 2], str(exc), 400)
    return _redirect_holding(q, form)


@bp.get("/search")
def results():
    q = request.args.get("q", "")
    if is_pasted(q) and len(q) <= settings().max_query_chars:
        # Already in this URL (a link, a bookmark): at least the results page and its links hold an id.
        return _redirect_holding(q, request.args)
    try:
        found = build_search()
    except ExpiredTextError as exc:
        return _form_page("", str(exc), 410)
    except PageOutOfRangeError:
        raise  # a 404 linking to the last page (webapp/errors.py)
    except QueryError as exc:
        # The page answers a mistake with the search box, the words kept and the message beside it.
        q = request.args.get("q", "")
        return _form_page(q[: settings().max_query_chars * 2], str(exc), 400)
    return render_template(found.template, **found.context())


route(None, api, "/search", "search", build_search)
