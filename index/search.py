"""The query path: parse → lexical + dense retrieval → fusion → group by source → highlight.

Usage::

    searcher = Searcher(settings, open_generation(settings))
    response = searcher.search("adolescents edge of care", top_k=10, page=1)
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from index.browse import Browse
from index.embedding import query_encoder
from index.errors import QueryError
from index.facets import FacetSelection, FacetTable
from index.fusion import FusionRanker
from index.generations import Generation
from index.highlight import CLOSE, OPEN, plain_html, to_html
from index.query import ParsedQuery, parse_query
from index.rerank import Reranker
from index.results import Passage, SearchResponse, SourceResult
from index.retrievers import DenseRetriever, LexicalRetriever
from index.settings import Settings
from index.store import ChunkHit
from index.synonyms import Synonyms

logger = logging.getLogger(__name__)

# A source's score: its best passage, plus a little for a second good one.
SECOND_PASSAGE_WEIGHT = 0.1
# One pool per process, shared by every generation's searcher (a pool per searcher would leave
# idle threads behind at each swap to a new generation).
_LEXICAL_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kb-lexical")
# The proximity boost is checked on this many of the best fused passages (it reorders the top).
PROXIMITY_DEPTH = 30


class QueryEmbedder:
    """The query embedding model, loaded once per process, with a small cache for repeated queries."""

    def __init__(self, settings: Settings, cache_size: int = 512) -> None:
        self._embedder = query_encoder(settings)
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        self._embedder.warm_up()

    def embed(self, text: str) -> list[float]:
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
        vector = self._embedder.run(text=text)["embedding"]
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector


@functools.lru_cache(maxsize=2)
def _reranker(model_dir: str, depth: int) -> Reranker:
    """One cross-encoder per process, shared by every generation's searcher."""
    return Reranker(model_dir, depth)


class Searcher:
    """Answers queries from one published generation.

    :param settings: retrieval and paging settings.
    :param generation: the generation to search.
    :param embedder: a shared :class:`QueryEmbedder` (one model per process); made here if None.
    """

    def __init__(self, settings: Settings, generation: Generation, embedder: QueryEmbedder | None = None) -> None:
        self.settings = settings
        self.generation = generation
        self.store = generation.store
        self.embedder = embedder or QueryEmbedder(settings)
        self.lexical = LexicalRetriever(self.store, top_k=settings.candidates, with_content=False,
                                        title_weight=settings.title_weight)
        self.dense = DenseRetriever(self.store, top_k=settings.candidates, with_content=False)
        self.fusion = FusionRanker(settings.fusion, settings.dense_weight, settings.rrf_k)
        self.synonyms = Synonyms.default() if settings.synonyms else None
        self.reranker = _reranker(settings.rerank_model, settings.rerank_depth) if settings.rerank_model else None

    @functools.cached_property
    def browse(self) -> Browse:
        """Projects, councils, themes and related work of this generation (built on first use)."""
        return Browse(self.generation)

    @functools.cached_property
    def facet_table(self) -> FacetTable:
        """Every source's facet values; built once per generation (generations never change)."""
        return FacetTable.from_rows(self.store.facet_rows())

    def _checked_paging(self, top_k: int | None, page: int) -> int:
        """``top_k`` (the setting's when None), after checking it and ``page`` against their limits.

        :raises QueryError: naming the parameter and its range.
        """
        settings = self.settings
        top_k = settings.top_k if top_k is None else top_k
        if not 1 <= top_k <= settings.max_top_k:
            raise QueryError(f"top_k must be between 1 and {settings.max_top_k}, got {top_k}.")
        if not 1 <= page <= settings.max_page:
            raise QueryError(f"page must be between 1 and {settings.max_page}, got {page}.")
        return top_k

    def search(self, raw: str, top_k: int | None = None, page: int = 1, filters: dict[str, Any] | None = None,
               fusion: str | None = None, facets: FacetSelection | None = None) -> SearchResponse:
        """Search and return one page of ranked sources, with facet counts over all of them.

        ``facets`` narrows the search to sources with the chosen values, before ranking.

        :raises QueryError: for a query or paging parameter a user must change.
        """
        started = time.perf_counter()
        settings = self.settings
        top_k = self._checked_paging(top_k, page)
        parsed = parse_query(raw, max_chars=settings.max_query_chars)
        allowed = self.facet_table.matching(facets) if facets else None
        if allowed is not None:
            narrowing = {"field": "meta.source_id", "operator": "in", "value": sorted(allowed)}
            filters = {"operator": "AND", "conditions": [filters, narrowing]} if filters else narrowing
        hits = self._candidates(parsed, max(settings.candidates, page * top_k * 3), filters, fusion)
        grouped = self._group(hits)
        window = grouped[(page - 1) * top_k : page * top_k]
        results = self._results(parsed, window)
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(query=parsed.raw, total=len(grouped), page=page, top_k=top_k, results=results,
                              took_ms=round(took, 2), generation=self.generation.id, fusion=fusion or settings.fusion,
                              facets=self.facet_table.counts(source_id for source_id, _, _ in grouped))

    def browse_sources(self, facets: FacetSelection, top_k: int | None = None, page: int = 1) -> SearchResponse:
        """Sources with the chosen facet values, newest first, without a query (``/search?council=hackney``).

        Each result shows its first passage (or the one naming the chosen project).
        """
        started = time.perf_counter()
        top_k = self._checked_paging(top_k, page)
        allowed = self.facet_table.matching(facets) or set()
        ordered = [s for s in self.browse.sources if s in allowed]
        window = ordered[(page - 1) * top_k : page * top_k]
        projects = facets.values.get("project", ())
        results = []
        for source_id in window:
            record = self.browse.sources[source_id]
            passages = self.store.source_passages(source_id)
            mentions = (self.browse.mention(p, source_id) for p in projects)
            ordinal = next((m.ordinal for m in mentions if m is not None), 0)
            shown = next((p for p in passages if p.meta.get("ordinal") == ordinal), passages[0] if passages else None)
            results.append(SourceResult(
                document_id=source_id, title=record.title, source=record.source, type=record.type, date=record.date,
                score=0.0, publisher=record.publisher, url=record.url, authors=list(record.authors),
                passages=[] if shown is None else [Passage(
                    text=shown.content, highlighted=plain_html(shown.content), start=int(shown.meta.get("start", 0)),
                    end=int(shown.meta.get("end", 0)), chunk_id=shown.id, ordinal=int(shown.meta.get("ordinal", 0)),
                    score=0.0, page=shown.meta.get("page"), citation=shown.meta.get("citation"))]))
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(query="", total=len(ordered), page=page, top_k=top_k, results=results,
                              took_ms=round(took, 2), generation=self.generation.id, fusion="browse",
                              facets=self.facet_table.counts(ordered))

    def rank(self, raw: str, depth: int, filters: dict[str, Any] | None = None, fusion: str | None = None,
             rerank: bool = True) -> list[tuple[str, float]]:
        """The first ``depth`` sources as ``(document_id, score)``, best first, without building results.

        The same ranking as :meth:`search` (for ``depth`` up to ``candidates`` sources of one
        passage each, exactly the same), for run files and ``kb eval``. ``rerank=False`` skips the
        cross-encoder, to measure a single retriever on its own.

        :raises QueryError: for a query that cannot be searched.
        """
        parsed = parse_query(raw, max_chars=self.settings.max_query_chars)
        hits = self._candidates(parsed, max(self.settings.candidates, depth), filters, fusion, rerank)
        return [(source_id, score) for source_id, score, _ in self._group(hits)[:depth]]

    def _candidates(self, parsed: ParsedQuery, n: int, filters: dict[str, Any] | None,
                    fusion: str | None, rerank: bool = True) -> list[ChunkHit]:
        method = fusion or self.settings.fusion
        # The lexical lookup runs in a worker thread while the model embeds the query here: torch
        # releases the GIL, so on two cores the two overlap.
        widened = self.synonyms.expand(parsed) if self.synonyms else parsed
        lexical_future = (_LEXICAL_POOL.submit(self.lexical.run, query=widened, filters=filters, top_k=n)
                          if method != "dense" else None)
        dense: list[ChunkHit] = []
        if method != "lexical":
            vector = self.embedder.embed(parsed.dense_text())
            dense = self.dense.run(query_embedding=vector, filters=filters, top_k=n)["hits"]
        lexical = lexical_future.result()["hits"] if lexical_future else []
        hits = self.fusion.run(lexical_hits=lexical, dense_hits=dense, method=method)["hits"]
        hits = self._boost_proximity(parsed, hits)
        required = parsed.required_match()
        if required and hits:
            keep = self.store.matching_rowids(required, [h.rowid for h in hits])
            hits = [h for h in hits if h.rowid in keep]
        excluded = parsed.exclusion_match()
        if excluded and hits:
            banned = self.store.sources_matching(excluded)
            hits = [h for h in hits if h.source_id not in banned]
        if rerank and self.reranker is not None:
            hits = self.reranker.rerank(parsed.dense_text(), hits, self.store)
        return hits

    def _boost_proximity(self, parsed: ParsedQuery, hits: list[ChunkHit]) -> list[ChunkHit]:
        near = parsed.proximity_match()
        boost = self.settings.proximity_boost
        if not near or not boost or not hits:
            return hits
        close = self.store.matching_rowids(near, [h.rowid for h in hits[:PROXIMITY_DEPTH]])
        if not close:
            return hits
        boosted = [ChunkHit(h.rowid, h.id, h.source_id, h.content, h.meta, h.score + boost) if h.rowid in close else h
                   for h in hits]
        return sorted(boosted, key=lambda h: (-h.score, h.rowid))

    @staticmethod
    def _group(hits: list[ChunkHit]) -> list[tuple[str, float, list[ChunkHit]]]:
        by_source: dict[str, list[ChunkHit]] = {}
        for hit in hits:
            by_source.setdefault(hit.source_id or hit.id, []).append(hit)
        scored = []
        for source_id, chunks in by_source.items():
            score = chunks[0].score + (SECOND_PASSAGE_WEIGHT * chunks[1].score if len(chunks) > 1 else 0.0)
            scored.append((source_id, score, chunks))
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored

    def _results(self, parsed: ParsedQuery, window: list[tuple[str, float, list[ChunkHit]]]) -> list[SourceResult]:
        shown = {source_id: chunks[: self.settings.passages_per_result] for source_id, _, chunks in window}
        rowids = [h.rowid for chunks in shown.values() for h in chunks]
        full = self.store.get_chunks(rowids)
        shown = {source_id: [replace(full[h.rowid], score=h.score) for h in chunks if h.rowid in full]
                 for source_id, chunks in shown.items()}
        marked = self.store.highlight(parsed.highlight_match(), rowids, OPEN, CLOSE)
        records = self.store.get_sources(shown)
        results = []
        for source_id, score, _ in window:
            record = records.get(source_id)
            passages = [
                Passage(
                    text=h.content,
                    highlighted=to_html(marked[h.rowid]) if h.rowid in marked else plain_html(h.content),
                    start=int(h.meta.get("start", 0)),
                    end=int(h.meta.get("end", len(h.content))),
                    chunk_id=h.id,
                    ordinal=int(h.meta.get("ordinal", 0)),
                    score=round(h.score, 6),
                    page=h.meta.get("page"),
                    citation=_best_citation(h, marked.get(h.rowid)),
                )
                for h in shown[source_id]
            ]
            results.append(SourceResult(
                document_id=source_id,
                title=record.title if record else str(passages[0].text[:80]),
                source=record.source if record else "",
                type=record.type if record else "other",
                date=record.date if record else None,
                score=round(score, 6),
                publisher=record.publisher if record else None,
                url=record.url if record else None,
                authors=list(record.authors) if record else [],
                passages=passages,
            ))
        return results


def _best_citation(hit: ChunkHit, marked: str | None) -> dict[str, Any] | None:
    """For a passage of a thread: the citation of the element where the first match is, else the first element."""
    citations = hit.meta.get("citations") or []
    if not citations:
        return hit.meta.get("citation")
    chosen = citations[0]
    if marked and OPEN in marked:
        offset = int(hit.meta.get("start", 0)) + marked.index(OPEN)
        chosen = next((c for c in citations if c.get("start", -1) <= offset < c.get("end", -1)), chosen)
    return {"author": chosen.get("author"), "date": chosen.get("date"), "url": chosen.get("url")}
