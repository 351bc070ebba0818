"""Result types shared by the CLI, the web pages and the JSON API.

The JSON shape is a contract other tools rely on: fields may be added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from index.records import Inspection


@dataclass(frozen=True)
class Passage:
    text: str
    highlighted: str
    start: int
    end: int
    chunk_id: str
    ordinal: int
    score: float
    page: int | None = None
    page_end: int | None = None  # when the best-matching sentence runs onto the next page
    citation: dict[str, Any] | None = None  # a thread element: author, date, url
    # About EXCERPT_WORDS words of ``highlighted`` (HTML): the window holding the query's rarest matched words
    excerpt: str = ""


@dataclass(frozen=True)
class WordMatch:
    """A word or phrase of the query and where a source holds it: any of title, text, publisher, author."""

    word: str
    where: list[str]
    # The word or phrase the source holds in its place (an OR alternative, or a synonym as specific as the word;
    # issue 23), where it does not hold the word as typed; ``where`` is then where it holds that.
    via: str | None = None
    # How the first place holds it where it is not written as typed but as another form of the same stem
    # ("adolescent" for "adolescents"; for an alternative or synonym, a form of that), read from the title or
    # the passages the search read; None when written as typed there, or when no passage read holds it.
    form: str | None = None


@dataclass(frozen=True)
class SynonymUse:
    """A synonym the search added for a word of the query, and found in this source."""

    word: str
    synonym: str


@dataclass(frozen=True)
class Why:
    """Why a result is shown, as facts and as plain sentences (no scores)."""

    words: list[WordMatch]
    synonyms: list[SynonymUse]
    keyword_share: float  # of the chosen passage's score: 0 to 1 (1 − this came from meaning)
    how_found: str  # "Found mostly by the words you searched for." ...
    passage_reason: str  # why the first passage shown was chosen
    summary: list[str] = field(default_factory=list)  # every sentence, in reading order


@dataclass(frozen=True)
class Suggestion:
    """Another search to try: a ``spelling`` from the index's own words, or a ``related`` search."""

    query: str
    kind: str  # "spelling" or "related"
    # the words changed: (as typed, as suggested); empty for a related search
    changes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SuggestedFilter:
    """A filter the query's words name (issue 24): the facet, its value as the URL carries it, the words offered
    ("Only sources about Hertfordshire")."""

    facet: str
    value: str
    text: str


@dataclass(frozen=True)
class SourceResult:
    document_id: str
    title: str
    source: str
    type: str
    date: str | None
    score: float
    publisher: str | None
    url: str | None
    authors: list[str]
    passages: list[Passage]
    inspection: Inspection | None = None  # an inspection report's council, dates and judgements
    # How it matched the query: "all" (a passage holds every word), "some" words, or by "meaning" alone;
    # "" when listed without a query.
    match: str = ""
    why: Why | None = None  # why it is shown (index/explain.py); None when listed without a query


@dataclass(frozen=True)
class Honesty:
    """How the sources a search found match its words (issue 14: never confident nonsense): the best match
    (``all``, ``some``, ``meaning``, ``none``), the words no passage, title or byline holds, other searches."""

    matched: str
    missing_words: list[str]
    suggestions: list[Suggestion]


@dataclass(frozen=True)
class SearchResponse:
    query: str
    total: int
    page: int
    top_k: int
    results: list[SourceResult]
    took_ms: float
    generation: str | None = None
    fusion: str = ""
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    # How the sources found match the words, the best of them: "all" (some source holds every word), "some",
    # "meaning" (none holds any word), "none" (nothing found); "" without a query.
    matched: str = ""
    missing_words: list[str] = field(default_factory=list)  # query words no passage, title or byline holds
    suggestions: list[Suggestion] = field(default_factory=list)
    # Filters the query's words name (a council, a project, a grade, a year), offered, not applied
    suggested_filters: list[SuggestedFilter] = field(default_factory=list)

    @property
    def has_words(self) -> bool:
        """Whether any source found holds a word of the query."""
        return self.matched in ("all", "some")

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.top_k))

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (``kb search --json``, ``/api/search``): the names the README promises never
        change (``document_id``, ``chunk_id``, ``ordinal``, ``source``) with the project's vocabulary
        beside them: ``source_id`` and ``name`` on each result, ``passage_id`` on each passage."""
        data = plain(self)
        data["pages"] = self.pages
        for result in data["results"]:
            result.update(source_id=result["document_id"], name=result["title"])
            for passage in result["passages"]:
                passage["passage_id"] = passage["chunk_id"]
        return data


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def plain(value: Any) -> Any:
    """``dataclasses.asdict`` without its deep copies: dataclasses become dicts, lists and tuples are rebuilt,
    other values (strings, numbers, None) are shared. A search's response is a fresh tree of frozen results, so
    nothing needs copying (``asdict`` deep-copies every value of every result)."""
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if kind is list:
        return [plain(v) for v in value]
    if kind is tuple:
        return tuple(plain(v) for v in value)
    if kind is dict:
        return {k: plain(v) for k, v in value.items()}
    return value
