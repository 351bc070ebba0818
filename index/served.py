"""One published generation as the web app serves it: its searcher, browse pages, the pages' stored data and its
vocabulary, each made once on first use (generations never change) and held together, so the web app asks one
object for whichever it needs and a swap to a new generation replaces them all at once.

Usage::

    served = ServedGeneration(settings, open_generation(settings), embedder)
    served.searcher.search("edge of care")
    served.browse.projects()
    served.listing(FacetSelection({"council": ("hackney",)}))     # /search?council=hackney
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable

from index.browse.catalogue import Browse
from index.browse.pages import GenerationPages
from index.embedding.encoders import QueryEmbedder
from index.errors import PageOutOfRangeError
from index.params import checked_paging
from index.search.facets import FacetSelection, FacetTable
from index.search.highlight import plain_html
from index.search.results import Passage, SearchResponse, SourceResult
from index.search.searcher import Searcher
from index.settings import Settings
from index.storage.contract import Generation, PassageStore


class ServedGeneration:
    """The per-generation services of one published generation.

    :param settings: the serving settings.
    :param generation: the generation served.
    :param embedder: the process's query embedder (shared by every generation).
    """

    def __init__(self, settings: Settings, generation: Generation, embedder: QueryEmbedder | None = None) -> None:
        self.settings = settings
        self.generation = generation
        self._embedder = embedder

    @property
    def store(self) -> PassageStore:
        return self.generation.store

    @functools.cached_property
    def pages(self) -> GenerationPages:
        """What the pages read across all sources: stored in the generation when it was built (computed here
        for an older one)."""
        return GenerationPages(self.generation)

    @functools.cached_property
    def searcher(self) -> Searcher:
        return Searcher(self.settings, self.generation, self._embedder, pages=self.pages)

    @functools.cached_property
    def browse(self) -> Browse:
        """Projects, councils, themes and related work of this generation."""
        return Browse(self.generation, self.pages)

    @property
    def facet_table(self) -> FacetTable:
        """Every source's facet values."""
        return self.pages.facet_table

    def listing(self, facets: FacetSelection, top_k: int | None = None, page: int = 1) -> SearchResponse:
        """Sources with the chosen facet values, newest first, without a query (``/search?council=hackney``).

        Each result shows its first passage (or the one naming the chosen project). Each chosen facet's values
        are counted over the sources with the other facets' choices.
        """
        started = time.perf_counter()
        top_k, page = checked_paging(top_k, page, self.settings)
        self.facet_table.check_known(facets)
        allowed = self.facet_table.matching(facets) or set()
        ordered = [s for s in self.browse.sources if s in allowed]
        pages = max(1, -(-len(ordered) // top_k))
        if page > pages:
            raise PageOutOfRangeError(page, pages)
        window = ordered[(page - 1) * top_k : page * top_k]
        projects = facets.values.get("project", ())
        results = []
        for source_id in window:
            record = self.browse.sources[source_id]
            passages = self.store.source_passages(source_id)
            mentions = (self.browse.mention(p, source_id) for p in projects)
            ordinal = next((m.ordinal for m in mentions if m is not None), 0)
            shown = next((p for p in passages if p.where.ordinal == ordinal), passages[0] if passages else None)
            results.append(SourceResult(
                document_id=source_id, title=record.title, source=record.source, type=record.type, date=record.date,
                score=0.0, publisher=record.publisher, url=record.url, authors=list(record.authors),
                inspection=record.inspection,
                passages=[] if shown is None else [Passage(
                    text=shown.content, highlighted=plain_html(shown.content), start=shown.where.start,
                    end=shown.where.end or 0, chunk_id=shown.id, ordinal=shown.where.ordinal, score=0.0,
                    page=shown.where.page, citation=shown.meta.get("citation"))]))
        lifted: dict[str, Iterable[str]] = {}
        for facet, without in self.facet_table.lifted_selections(facets).items():
            found = self.facet_table.matching(without)
            lifted[facet] = self.browse.sources if found is None else found
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(query="", total=len(ordered), page=page, top_k=top_k, results=results,
                              took_ms=round(took, 2), generation=self.generation.id, fusion="browse",
                              facets=self.facet_table.counts(ordered, lifted))

