"""Result types shared by the CLI, the web pages and the JSON API.

The JSON shape is a contract other tools rely on: fields may be added, never renamed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.top_k))

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (``kb search --json``, ``/api/search``): the names the README promises never
        change (``document_id``, ``chunk_id``, ``ordinal``, ``source``) with the project's vocabulary
        beside them: ``source_id`` and ``name`` on each result, ``passage_id`` on each passage."""
        data = asdict(self)
        data["pages"] = self.pages
        for result in data["results"]:
            result.update(source_id=result["document_id"], name=result["title"])
            for passage in result["passages"]:
                passage["passage_id"] = passage["chunk_id"]
        return data
