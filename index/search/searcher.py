"""The query path: parse → lexical + dense retrieval → ranking (:mod:`index.search.ranking`) → page → highlight.

Usage::

    searcher = Searcher(settings, open_generation(settings))
    response = searcher.search("adolescents edge of care", top_k=10, page=1)
"""

from __future__ import annotations

import functools
import logging
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import faiss
import numpy as np

from index.browse.catalogue import catalogue_projects
from index.browse.pages import GenerationPages
from index.embedding.encoders import QueryEmbedder, query_embedder
from index.errors import PageOutOfRangeError
from index.params import checked_paging, checked_sort
from index.records import SourceRecord
from index.search.citations import Citation, best_citation
from index.search.explain import Evidence, SourceTexts, contributions, explain, simple_tokens
from index.search.facets import FacetSelection, FacetTable
from index.search.highlight import CLOSE, OPEN, excerpt, plain_html, to_html, unmark_names
from index.search.matching import SourceAccount, account_of, by_meaning, counted_terms, match_sources
from index.search.query import ParsedQuery, Term, parse_query
from index.search.ranking import (
    SINGLE_METHODS,
    Found,
    RankedSource,
    about,
    boosted,
    closer_as_a_whole,
    fuse_candidates,
    group_by_source,
    match_questions,
    rank_passages,
    reranked,
    words_first,
)
from index.search.rerank import Reranker
from index.search.results import Honesty, Passage, SearchResponse, SourceResult, SuggestedFilter, Suggestion
from index.search.retrievers import DenseRetriever, LexicalRetriever, match_answers
from index.search.suggested import FilterNames, offered
from index.search.synonyms import Synonyms
from index.search.vocabulary import Vocabulary
from index.settings import Settings
from index.storage.contract import Candidates, Generation, LexicalEngine, PassageHit
from index.storage.filters import source_ids_of
from index.storage.lexical_retrieval import focus

logger = logging.getLogger(__name__)

# Words of a passage shown on the results page (the rest behind "more"): about four lines.
EXCERPT_WORDS = 60
# Passages of each shown source read to choose those shown and to explain it (its best, in ranked order).
CONSIDERED_PASSAGES = 8

@functools.lru_cache(maxsize=2)
def _reranker(model_dir: str, depth: int) -> Reranker:
    """One cross-encoder per process, shared by every generation's searcher."""
    return Reranker(model_dir, depth)


class Searcher:
    """Answers queries from one published generation (held, with its other per-generation services, by
    :class:`index.served.ServedGeneration`).

    :param settings: retrieval and paging settings.
    :param generation: the generation to search.
    :param embedder: a shared :class:`QueryEmbedder` (one model per process); made here if None.
    """

    def __init__(self, settings: Settings, generation: Generation, embedder: QueryEmbedder | None = None,
                 pages: GenerationPages | None = None) -> None:
        self.settings = settings
        self.generation = generation
        self._pages = pages
        # One query is one small search: FAISS's OpenMP team only adds spin-waiting, and on a busy
        # machine it made a 100k-passage exact search 4x slower (benchmarks/bench_scale.py).
        faiss.omp_set_num_threads(1)
        self.store = generation.store
        self.embedder = embedder or query_embedder(settings, generation.manifest)
        self.lexical = LexicalRetriever(self.store, top_k=settings.candidates, with_content=False,
                                        title_weight=settings.title_weight)
        self.dense = DenseRetriever(self.store, top_k=settings.candidates, with_content=False)
        self.synonyms = Synonyms.default() if settings.synonyms else None
        self.reranker = _reranker(settings.rerank_model, settings.rerank_depth) if settings.rerank_model else None

    @functools.cached_property
    def pages(self) -> GenerationPages:
        """What the pages read across all sources (the facets, the date order): the holder's
        (:class:`index.served.ServedGeneration`), or loaded here once."""
        return self._pages or GenerationPages(self.generation)

    @functools.cached_property
    def vocabulary(self) -> Vocabulary | None:
        """The generation's own words, for spelling suggestions; None for a generation built without them."""
        return Vocabulary.of(self.generation)

    @functools.cached_property
    def facet_table(self) -> FacetTable:
        """Every source's facet values."""
        return self.pages.facet_table

    @functools.cached_property
    def date_order(self) -> dict[str, int]:
        """Each source's place when sorted newest first (undated last, then by title)."""
        return {source_id: at for at, source_id in enumerate(self.pages.index.order)}

    def newest_first(self, source_ids: Iterable[str]) -> list[str]:
        """``source_ids`` newest first (undated last, then by title), as ``sort=date`` lists them."""
        last = len(self.date_order)
        return sorted(source_ids, key=lambda source_id: self.date_order.get(source_id, last))

    def search(self, raw: str, top_k: int | None = None, page: int = 1, filters: dict[str, Any] | None = None,
               fusion: str | None = None, facets: FacetSelection | None = None,
               sort: str = "relevance") -> SearchResponse:
        """Search and return one page of the sources it matches, with facet counts over all of them.

        Every source the search matches is counted, listed and filtered (:mod:`index.search.matching`); the
        ranking orders the first of them. ``facets`` narrows the match to sources with the chosen values; each
        chosen facet's values are counted over the match without that facet's own choice (so that its other
        values stay listed with the total a tick gives). ``sort="date"`` lists the matched sources newest first
        (undated last) instead of best first.

        :raises QueryError: for a query, paging or sort parameter a user must change.
        """
        started = time.perf_counter()
        settings = self.settings
        top_k, page = checked_paging(top_k, page, self.settings)
        sort = checked_sort(sort)
        parsed = parse_query(raw, max_chars=settings.max_query_chars)
        if facets:
            self.facet_table.check_known(facets)
        # The same candidates for every page, so that every page cuts one order: sources past the ranked ones
        # follow in the account's order (index/search/matching.py), and no source is on two pages or none.
        n = max(settings.candidates, top_k * 3)
        widened = self.widened(parsed)
        method = fusion or settings.fusion
        found, evidence, account, vector = self._retrieve(parsed, widened, n, self._narrowed(filters, facets),
                                                          fusion)
        named = self.filter_names.named(parsed.raw)
        grouped = self._sources(parsed, found, fusion, account, named, vector)
        within = self._within(filters, facets)
        order = self._order(grouped, account, within, method)
        if sort == "date":
            order = self.newest_first(order)
        pages = max(1, -(-len(order) // top_k))
        if page > pages:
            raise PageOutOfRangeError(page, pages)
        window, full, records = self._window(order[(page - 1) * top_k : page * top_k], grouped, widened, account)
        results = self._results(parsed, window, found, evidence, account, full, records)
        lifted: dict[str, Iterable[str]] = {}
        if facets:
            for facet, without in self.facet_table.lifted_selections(facets).items():
                # The match does not depend on the filters: without a facet's choice it is the same sources,
                # within the other choices (the total a tick of one of its values gives).
                lifted[facet] = self._matched(grouped, account, self._within(filters, without), method)
        honesty = self._honesty(parsed, widened, order, found, account)
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(query=parsed.raw, total=len(order), page=page, top_k=top_k, results=results,
                              took_ms=round(took, 2), generation=self.generation.id, fusion=method,
                              facets=self.facet_table.counts(order, lifted),
                              matched=honesty.matched, missing_words=honesty.missing_words,
                              suggestions=honesty.suggestions,
                              suggested_filters=[] if parsed.is_long else offered(named, facets))

    def account(self, parsed: ParsedQuery, widened: ParsedQuery, method: str,
                vector: list[float] | None) -> SourceAccount | None:
        """The search's whole match and what each source holds (None: a generation without a lexical engine);
        a search reads it with its candidates (:meth:`_retrieve`)."""
        return match_sources(self.store, parsed, widened, self.settings, method, vector, self.source_count,
                             self.synonyms.broader if self.synonyms else ())

    @functools.cached_property
    def filter_names(self) -> FilterNames:
        """Every name a filter value goes by (councils, catalogue projects with their strong and weak aliases,
        grades, years), for the filters a query names (issue 24)."""
        aliases = {p.slug: (*p.aliases, *p.weak_aliases) for p in catalogue_projects(self.generation)}
        return FilterNames.of(self.facet_table, aliases)

    @functools.cached_property
    def source_count(self) -> int:
        """How many sources the generation holds."""
        return len(self.facet_table.by_source) or self.store.count_sources()

    def _within(self, filters: dict[str, Any] | None, facets: FacetSelection | None) -> set[str] | None:
        """The sources the filters and facet choices allow (None: all)."""
        allowed = self.facet_table.matching(facets) if facets else None
        named = source_ids_of(filters) if filters else None
        if named is not None:
            allowed = set(named) if allowed is None else allowed & set(named)
        return allowed

    def _order(self, grouped: list[RankedSource], account: SourceAccount | None, within: set[str] | None,
               method: str) -> list[str]:
        """Every source the search matches within ``within``, in order: the ranked ones, then the rest
        (:meth:`SourceAccount.order`). Without an account, or for the dense method alone (nearness has no
        floor there), the ranked candidates' sources."""
        ranked = [source_id for source_id, _, _ in grouped]
        if account is None or method == "dense":
            return [s for s in ranked if within is None or s in within]
        return account.order(ranked, within)

    def _matched(self, grouped: list[RankedSource], account: SourceAccount | None, within: set[str] | None,
                 method: str) -> Iterable[str]:
        """The sources :meth:`_order` lists, in no order (what a facet's counts are over)."""
        if account is None or method == "dense":
            return [s for s, _, _ in grouped if within is None or s in within]
        return account.restricted(within)

    def _window(self, source_ids: list[str], grouped: list[RankedSource], widened: ParsedQuery,
                account: SourceAccount | None
                ) -> tuple[list[RankedSource], dict[int, PassageHit], dict[str, SourceRecord]]:
        """The page's sources with their passages: those the ranking reached as ranked; the others with their
        passages that hold the words best (by bm25, within the source), or their closest in meaning. Read in one
        batch with what the page shows of them: the passages' text and meta, the sources' records."""
        ranked = {r.source_id: r for r in grouped}
        lowest = min((r.score for r in grouped), default=0.0)
        engine = self.store.lexical_index()
        marked = account.marked(widened) if account is not None else None
        plan = (marked.relaxed_plan() or marked.strict_plan()) if marked is not None else None
        beyond = [s for s in source_ids if s not in ranked]
        # Each source's best few passages are read, marked and explained: a long report can hold dozens of
        # the candidates, and reading them all doubled a query's time (13k passages: 8 → 15 ms median).
        rowids = [h.rowid for s in source_ids if s in ranked for h in ranked[s].passages[:CONSIDERED_PASSAGES]]
        # A source beyond the candidates gets its closest passage in meaning when none holds the words: both are
        # asked at once (its closest is one row).
        nearest = [account.near[s] for s in beyond if account is not None and s in account.near]
        with self.store.batch() as batch:
            shown = batch.shown(rowids, source_ids)
            # One search for all of them (a long report may take more than its share: each keeps its best few).
            words = (batch.passages_matching(plan, CONSIDERED_PASSAGES * len(beyond), beyond,
                                             self.settings.title_weight)
                     if beyond and engine is not None and plan is not None else None)
            closest = batch.hits(nearest, with_content=True) if nearest else None
        full, records = shown.result()
        found: dict[str, list[PassageHit]] = {}
        for hit in words.result() if words is not None else ():
            if hit.source_id and len(found.setdefault(hit.source_id, [])) < CONSIDERED_PASSAGES:
                found[hit.source_id].append(hit)
        for hit in closest.result() if closest is not None else ():
            if hit.source_id and not found.get(hit.source_id):
                found[hit.source_id] = [hit]
        window = []
        for source_id in source_ids:
            if source_id in ranked:
                window.append(ranked[source_id])
            else:
                window.append(RankedSource(source_id, lowest - 1.0, found.get(source_id, [])))
        full = {**full, **{h.rowid: h for hits in found.values() for h in hits}}
        return window, full, records

    def widened(self, parsed: ParsedQuery) -> ParsedQuery:
        """The query as the lexical side searches it: widened with the sector's synonyms, and a long query
        focused on its most informative words. Made once per search; retrieval, highlighting, "why" and
        suggestions all read it."""
        expanded = self.synonyms.expand(parsed) if self.synonyms else parsed
        return focus(expanded, self.store.lexical_index())

    def _honesty(self, parsed: ParsedQuery, widened: ParsedQuery, order: list[str], found: Found,
                 account: SourceAccount | None) -> Honesty:
        """How the sources found match the query's words, the words the index lacks, and other searches to try
        (issue 14: never confident nonsense)."""
        ids = set(order)
        if account is not None:
            matched = ("all" if ids & account.all_words else "some" if ids & account.some_words
                       else "meaning" if ids else "none")
            missing = [] if parsed.is_long else account.missing()
        else:
            matched = ("all" if ids & found.all_words else "some" if ids & found.some_words
                       else "meaning" if ids else "none")
            missing = self.missing_words(parsed)
        return Honesty(matched, missing,
                       self.suggestions(parsed, missing, widened) if missing or matched != "all" else [])

    def missing_words(self, parsed: ParsedQuery) -> list[str]:
        """The query's words and phrases that no passage, title or byline holds (none known without a lexical
        index: an older generation)."""
        lexical = self.store.lexical_index()
        if lexical is None or parsed.is_long:  # a pasted paragraph is not checked word by word
            return []
        counts = lexical.word_document_counts(parsed.content_terms())
        return [term.text for term, count in counts.items() if count == 0]

    def suggestions(self, parsed: ParsedQuery, missing: list[str], widened: ParsedQuery | None = None
                    ) -> list[Suggestion]:
        """A spelling from the index's own words for each missing word (when it has one), then related
        searches: the query without its missing words, and with a synonym in place of a word."""
        out: list[Suggestion] = []
        vocabulary = self.vocabulary
        if vocabulary is not None and missing:
            changes = [(word, found[0]) for word in missing if " " not in word
                       and (found := vocabulary.suggest(word))]
            if changes:
                out.append(Suggestion(replaced_words(parsed.raw, changes), "spelling", changes))
        kept = [t.text for t in parsed.content_terms() if t.text not in missing]
        if missing and kept:
            out.append(Suggestion(" ".join(kept), "related"))
        # Synonyms of the query's words, in the query as spelt right when a spelling was found.
        base = out[0].query if out and out[0].kind == "spelling" else parsed.raw
        widened = widened or self.widened(parsed)
        for clause in widened.clauses:
            if len(clause) > 1 and clause not in parsed.clauses:
                typed = clause[0].text
                for other in clause[1:3]:
                    out.append(Suggestion(replaced_words(base, [(typed, other.text)]), "related"))
        seen: set[str] = {parsed.raw.lower()}
        unique = []
        for suggestion in out:
            if suggestion.query.lower() not in seen:
                seen.add(suggestion.query.lower())
                unique.append(suggestion)
        return unique[:4]

    def _narrowed(self, filters: dict[str, Any] | None, facets: FacetSelection | None) -> dict[str, Any] | None:
        """``filters`` and, when facets are chosen, the condition that a passage's source has them."""
        allowed = self.facet_table.matching(facets) if facets else None
        if allowed is None:
            return filters
        narrowing = {"field": "meta.source_id", "operator": "in", "value": sorted(allowed)}
        return {"operator": "AND", "conditions": [filters, narrowing]} if filters else narrowing

    def rank(self, raw: str, depth: int, filters: dict[str, Any] | None = None, fusion: str | None = None,
             rerank: bool = True, candidates: int | None = None) -> list[tuple[str, float]]:
        """The first ``depth`` sources the search matches as ``(document_id, score)``, in :meth:`search`'s
        order, without building results: for run files, ``kb eval``, exports and feeds.

        ``rerank=False`` skips the cross-encoder, to measure a single retriever on its own. ``candidates``:
        passages each retriever returns (default ``max(settings.candidates, depth)``). Sources the ranking's
        candidates did not reach follow the ranked ones (:meth:`SourceAccount.order`), with scores below theirs.

        :raises QueryError: for a query that cannot be searched.
        """
        parsed = parse_query(raw, max_chars=self.settings.max_query_chars)
        widened = self.widened(parsed)
        method = fusion or self.settings.fusion
        found, _, account, vector = self._retrieve(parsed, widened, candidates or max(self.settings.candidates, depth),
                                                   filters, fusion, rerank)
        grouped = self._sources(parsed, found, fusion, account, self.filter_names.named(parsed.raw), vector)
        scores = {source_id: score for source_id, score, _ in grouped}
        lowest = min(scores.values(), default=0.0)
        order = self._order(grouped, account, self._within(filters, None), method)[:depth]
        return [(s, scores[s] if s in scores else lowest - 1.0 - at * 1e-6) for at, s in enumerate(order)]

    def _sources(self, parsed: ParsedQuery, found: Found, fusion: str | None,
                 account: SourceAccount | None = None, named: Iterable[SuggestedFilter] = (),
                 vector: list[float] | None = None) -> list[RankedSource]:
        """Steps 7 and 8 of :mod:`index.search.ranking`: sources scored by their passages, every word first; only
        the sources the search matches (:mod:`index.search.matching`). ``named``: the filters the query names
        (a project named lifts its sources, ``named_boost``); ``vector``: the query's embedding (each source's
        closeness as a whole, ``source_meaning_weight``)."""
        grouped = group_by_source(found.passages)
        if account is None:
            return words_first(grouped, found.all_words, parsed, self.settings, fusion)
        if (fusion or self.settings.fusion) != "dense":
            grouped = [r for r in grouped if r.source_id in account.sources]
        if (fusion or self.settings.fusion) not in ("dense", "lexical"):
            grouped = about(grouped, account.passages, self.settings.about_weight)
            if self.settings.named_boost:
                linked = {s for f in named if f.facet == "project"
                          for s in self.facet_table.postings["project"].get(f.value, ())}
                grouped = boosted(grouped, linked, self.settings.named_boost)
            if self.settings.source_meaning_weight and vector is not None:
                grouped = closer_as_a_whole(grouped, self.closeness(vector, [r.source_id for r in grouped]),
                                            self.settings.source_meaning_weight)
        # Step 8 puts first the sources with a passage holding every word (a strict match, as tuned), of those
        # the account says hold every word: a broad synonym in that passage does not count (issue 23, 4).
        return words_first(grouped, found.all_words & account.all_words, parsed, self.settings, fusion)

    def closeness(self, vector: list[float], source_ids: list[str]) -> dict[str, float]:
        """The cosine between the query's embedding and each source's mean passage vector (the generation's
        normalised source vectors, memory-mapped; a source without one is left out)."""
        vectors = self.pages.vectors
        rows = vectors.rows
        known = [s for s in source_ids if s in rows]
        if not known:
            return {}
        query = np.asarray(vector, dtype=np.float32)
        values = np.asarray(vectors.matrix[[rows[s] for s in known]], dtype=np.float32) @ query
        return {s: float(v) for s, v in zip(known, values, strict=True)}

    def _retrieve(self, parsed: ParsedQuery, widened: ParsedQuery, n: int, filters: dict[str, Any] | None,
                  fusion: str | None, rerank: bool = True
                  ) -> tuple[Found, Evidence, SourceAccount | None, list[float] | None]:
        """The retrievers' ``n`` best passages each, ranked as one list (:mod:`index.search.ranking`), with the
        retrievers' own lists kept beside the ranking (to explain it), and the search's whole match
        (:mod:`index.search.matching`).

        Retrieval gathers what ranking needs in one pass: the candidates and the whole match, asked of the store
        in one batch (:meth:`PassageStore.batch`: one pipeline on PostgreSQL, after a round trip for the words'
        statistics it does not know yet), then the store's word-for-word answers about the candidates
        (:func:`match_answers`); ranking is then a pure function of both.
        """
        method = fusion or self.settings.fusion
        engine = self.store.lexical_index()
        # The candidates' text comes with them where the proximity check (step 4 of the ranking) will read it.
        texts = method not in SINGLE_METHODS and bool(parsed.proximity_match()) and bool(self.settings.proximity_boost)
        with self.store.batch() as batch:
            # Asked first: the store starts on them while the model embeds the query here (locally the lexical
            # search runs in a worker thread; torch releases the GIL, so on two cores the two overlap).
            lexical = (batch.lexical_candidates(widened, n, filters, self.settings.title_weight,
                                                () if parsed.is_long else _weighed_terms(widened), texts)
                       if method != "dense" else None)
            terms = counted_terms(parsed, widened) if engine is not None else []
            counts = batch.source_counts(terms) if engine is not None else None
            vector = self.embedder.embed(parsed.dense_text()) if method != "lexical" else None
            # With the nearest passages, every source close in meaning (the whole match's meaning side).
            floor = self.settings.meaning_floor if counts is not None and by_meaning(method) else None
            dense = batch.dense_candidates(vector, n, filters, texts, floor) if vector is not None else None
        strict = lexical.result() if lexical is not None else Candidates([])
        nearest = dense.result() if dense is not None else Candidates([])
        fused = fuse_candidates(parsed, strict.hits, strict.relaxed, nearest.hits, self.settings, method)
        answers = match_answers(self.store, parsed, match_questions(parsed, fused, self.settings, method),
                                {**strict.texts, **nearest.texts})
        passages = rank_passages(parsed, fused, answers, self.settings, method)
        if rerank and self.reranker is not None and passages:
            head, others = passages[: self.reranker.depth], passages[self.reranker.depth :]
            read = self.store.passages_by_rowid(h.rowid for h in head)
            passages = reranked(self.reranker.score(parsed.dense_text(), head,
                                                    {rowid: hit.content for rowid, hit in read.items()}), others)
        found = Found(passages, {h.source_id for h in strict.hits if h.source_id},
                      {h.source_id for h in strict.relaxed if h.source_id})
        evidence = Evidence(parsed, widened, strict.hits, strict.relaxed, nearest.hits, method, self.settings)
        account = (account_of(parsed, widened, terms, counts.result(), nearest.near, self.source_count,
                              self.synonyms.broader if self.synonyms else ())
                   if counts is not None else None)
        return found, evidence, account, vector

    def _rarity(self, lexical: LexicalEngine | None) -> Callable[[str], float] | None:
        """A marked word's weight for choosing excerpts: its idf in the index (each word looked up once)."""
        if lexical is None:
            return None
        total = len(lexical)
        known: dict[str, float] = {}

        def weigh(word: str) -> float:
            if word not in known:
                known[word] = _idf(lexical.document_frequencies([Term((word,))])[0], total)
            return known[word]

        return weigh

    def _results(self, parsed: ParsedQuery, window: list[RankedSource], found: Found, evidence: Evidence,
                 account: SourceAccount | None, full: dict[int, PassageHit],
                 records: dict[str, SourceRecord]) -> list[SourceResult]:
        """The page's sources, each with the passages that hold the query's words (a synonym's too), best first,
        or, for a source found by meaning alone, its one closest passage; and why it is shown. ``full`` and
        ``records``: the passages with their text and the sources' records (:meth:`_window` read them)."""
        window = [RankedSource(s, score, passages[:CONSIDERED_PASSAGES]) for s, score, passages in window]
        rowids = [h.rowid for _, _, passages in window for h in passages]
        # A long query marks the words it searched for, not every word of the paragraph; a short one its
        # words and the synonyms searched for.
        marked = self.store.highlight_query(account.marked(evidence.widened) if account else evidence.widened,
                                            rowids, OPEN, CLOSE,
                                            {rowid: hit.content for rowid, hit in full.items()})
        shown: dict[str, list[PassageHit]] = {}
        marks: dict[int, str] = {}
        for source_id, _, passages in window:
            record = records.get(source_id)
            # A word marked only inside the publisher's name (a header line) is no match.
            names = [record.publisher] if record and record.publisher else []
            for hit in passages:
                if hit.rowid in marked:
                    marks[hit.rowid] = unmark_names(marked[hit.rowid], names)
            holding = [h for h in passages if OPEN in marks.get(h.rowid, "")]
            chosen = holding[: self.settings.passages_per_result] or passages[:1]
            shown[source_id] = [replace(full[h.rowid], score=h.score) for h in chosen if h.rowid in full]
        parts = contributions(evidence)
        # A long query is explained by the words it searched for (its own, not their synonyms).
        if parsed.is_long and evidence.widened.focus is not None:
            own = {t.tokens for t in parsed.informative_candidates()}
            evidence = replace(evidence, parsed=parsed.focused(tuple(t for t in evidence.widened.focus
                                                                        if t.tokens in own)))
        lexical = self.store.lexical_index()
        analyze = lexical.analyze if lexical is not None else (lambda term: simple_tokens(term.text))
        analyze_text = lexical.analyze_text if lexical is not None else simple_tokens
        weigh = self._rarity(lexical)
        results = []
        for source_id, score, candidates in window:
            record = records.get(source_id)
            shown_passages = [_passage(h, marks.get(h.rowid), weigh) for h in shown[source_id]]
            title = record.title if record else str(shown_passages[0].text[:80]) if shown_passages else source_id
            texts = SourceTexts(title, [full[h.rowid].content for h in candidates if h.rowid in full],
                                (record.publisher or "") if record else "", tuple(record.authors) if record else ())
            why = explain(evidence, texts, shown[source_id][0] if shown[source_id] else None, parts,
                          analyze, analyze_text, account.view(source_id) if account else None)
            results.append(SourceResult(
                document_id=source_id,
                title=title,
                source=record.source if record else "",
                type=record.type if record else "other",
                date=record.date if record else None,
                score=round(score, 6),
                publisher=record.publisher if record else None,
                url=record.url if record else None,
                authors=list(record.authors) if record else [],
                inspection=record.inspection if record else None,
                passages=shown_passages,
                match=account.tier(source_id) if account else found.match(source_id),
                why=why,
            ))
        return results


def _weighed_terms(widened: ParsedQuery) -> list[Term]:
    """Every word and synonym a search looks for: a page's excerpts weigh the words they mark by their statistics
    (:meth:`Searcher._rarity`), read with the search's own."""
    return [term for clause in widened.clauses for term in clause]


def _idf(frequency: int, total: int) -> float:
    return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))


def replaced_words(raw: str, changes: list[tuple[str, str]]) -> str:
    """``raw`` with each typed word replaced by its suggestion (its first whole-word occurrence, case ignored)."""
    for typed, suggested in changes:
        pattern = re.compile(r"(?<![\w])" + r"\W+".join(re.escape(w) for w in typed.split()) + r"(?![\w])", re.I)
        raw = pattern.sub(suggested, raw, count=1)
    return raw


def _passage(hit: PassageHit, marked: str | None, weigh: Callable[[str], float] | None = None) -> Passage:
    """A shown passage, citing the page (or pages) and thread element of its best-matching sentence, with its
    excerpt (the window holding the rarest of the words it matched)."""
    where = hit.where
    cited = best_citation(where, marked) or Citation()
    element = cited.element()
    highlighted = to_html(marked) if marked is not None else plain_html(hit.content)
    return Passage(
        text=hit.content,
        highlighted=highlighted,
        excerpt=excerpt(highlighted, EXCERPT_WORDS, weigh),
        start=where.start,
        end=where.end if where.end is not None else len(hit.content),
        chunk_id=hit.id,
        ordinal=where.ordinal,
        score=round(hit.score, 6),
        page=cited.page if cited.page is not None else where.page,
        page_end=cited.page_end,
        citation=element or None,
    )
