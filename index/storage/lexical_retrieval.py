"""Lexical retrieval, written once against the storage contract: plan → filter → engine → hits.

Both backends' stores answer through here: the query's plan (strict: every clause; relaxed: any content
word), a filter applied inside the engine (a set of sources, or the rowids a SQL filter keeps), the
engine's BM25 search, and the passages it found read back from the store. A local generation without a
lexical engine (store format 1) is answered by its FTS5 table instead (``PassageStore.fts_retrieval``).

Usage::

    hits = lexical_retrieval(generation.store, parse_query("edge of care"), top_k=100)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from index.search.query import MAX_LONG_QUERY_WORDS, MatchPlan, ParsedQuery
from index.storage.contract import LexicalEngine, PassageHit, PassageStore
from index.storage.filters import source_ids_of


def lexical_retrieval(
    store: PassageStore, query: ParsedQuery, relaxed: bool = False, top_k: int = 10,
    filters: dict[str, Any] | None = None, exclude_rowids: Iterable[int] = (), with_content: bool = True,
    title_weight: float | None = None,
) -> list[PassageHit]:
    """Passages matching ``query`` strictly (every clause) or ``relaxed`` (any content word), best BM25 first;
    filters apply inside the engine, before ranking.

    :param exclude_rowids: passages left out (the strict matches, when the relaxed query fills up to ``top_k``).
    :param with_content: return passage text and meta; False returns ids and scores only.
    :param title_weight: the title's weight against the text; None for the engine's default.
    """
    engine = store.lexical_index()
    if query.is_long:
        if not relaxed:  # no passage holds every word of a paragraph; the query would only cost time
            return []
        query = focus(query, engine)
    if engine is None:
        return store.fts_retrieval(query, relaxed, top_k, filters, exclude_rowids, with_content, title_weight)
    plan = search_plan(query, relaxed, engine)
    if plan is None:
        return []
    source_ids = source_ids_of(filters)
    rowids = store.filtered_rowids(filters) if filters and source_ids is None else None
    found = engine.search(plan, top_k, source_ids=source_ids, exclude_rowids=set(exclude_rowids),
                          title_weight=title_weight, rowids=rowids)
    return store.hits(found, with_content)


def lexical_candidates(store: PassageStore, query: ParsedQuery, top_k: int, filters: dict[str, Any] | None = None,
                       with_content: bool = True, title_weight: float | None = None
                       ) -> tuple[list[PassageHit], list[PassageHit]]:
    """The lexical retriever's candidates: the strict matches, best first, then, if they are fewer than ``top_k``,
    the best relaxed matches that are not strict ones, up to ``top_k`` in all."""
    hits = lexical_retrieval(store, query, top_k=top_k, filters=filters, with_content=with_content,
                             title_weight=title_weight)
    more: list[PassageHit] = []
    if len(hits) < top_k:
        more = lexical_retrieval(store, query, relaxed=True, top_k=top_k - len(hits), filters=filters,
                                 exclude_rowids=[h.rowid for h in hits], with_content=with_content,
                                 title_weight=title_weight)
    return hits, more


def search_plan(query: ParsedQuery, relaxed: bool, engine: LexicalEngine | None) -> MatchPlan | None:
    """What a strict (every clause) or relaxed (any content word) search of ``query`` asks the engine; None when
    there is nothing to search (a pasted paragraph is searched relaxed only, on its most informative words)."""
    if query.is_long:
        if not relaxed:
            return None
        query = focus(query, engine)
    return query.relaxed_plan() if relaxed else query.strict_plan()


def filled(strict: list[PassageHit], relaxed: list[PassageHit], top_k: int) -> list[PassageHit]:
    """:func:`lexical_candidates`' relaxed list, from a relaxed search for ``top_k`` asked at the same time as the
    strict one rather than after it: its first ``top_k − len(strict)`` passages that are not strict matches.

    The same passages in the same order: ranked alike, the relaxed matches that are not strict ones are a
    subsequence of all the relaxed matches, and the first ``top_k`` of those hold at most ``len(strict)`` strict
    ones, so at least the first ``top_k − len(strict)`` of that subsequence.
    """
    if len(strict) >= top_k:
        return []
    found = {h.rowid for h in strict}
    return [h for h in relaxed if h.rowid not in found][: top_k - len(strict)]


def focus(query: ParsedQuery, engine: LexicalEngine | None) -> ParsedQuery:
    """A long query limited to its most informative words: the ``MAX_LONG_QUERY_WORDS`` of highest
    weight in the lexical index, times in the query x BM25's idf (one word of a stem), in query
    order; words no passage holds are left out. Without a lexical engine (an FTS5-only generation),
    its first words.

    Weighing by idf alone kept typos and names a paragraph mentions once (arguana lexical
    nDCG@10 0.457, against 0.495 with the count; docs/ranking.md, "Long queries").
    A query that is not long, or already focused, is returned as it is.
    """
    if not query.is_long or query.focus is not None:
        return query
    candidates = query.informative_candidates()
    if engine is None:
        return query.focused(candidates)
    counts = Counter(tuple(engine.analyze(t)) for clause in query.clauses for t in clause)
    stems: dict[tuple[str, ...], int] = {}
    for number, term in enumerate(candidates):
        stems.setdefault(tuple(engine.analyze(term)), number)
    unique = [(stem, candidates[n]) for stem, n in stems.items() if stem]
    # The statistics of the words, as the search that follows will weigh them too (its any-word plan's, each
    # word's for the excerpts), read at once: one statement on PostgreSQL, and none left for the search to read.
    words = tuple(t for _, t in unique)
    engine.prepare([MatchPlan((words,), any_word=True)], words)
    frequencies = engine.document_frequencies(list(words))
    total = len(engine)
    weights = sorted((-counts[stem] * math.log(1 + (total - f + 0.5) / (f + 0.5)), n)
                     for n, ((stem, _), f) in enumerate(zip(unique, frequencies, strict=True)) if f > 0)
    kept = sorted(n for _, n in weights[:MAX_LONG_QUERY_WORDS])
    return query.focused(tuple(unique[n][1] for n in kept))
