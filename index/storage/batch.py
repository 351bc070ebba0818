"""A :class:`~index.storage.contract.ReadBatch` answered at once, written against the contract: the batch of a store
whose reads cost no round trip (the local backend's).

Each read is the store's own method, called when asked; the lexical candidates run in a worker thread, so that
they overlap with what the caller does before it reads them (the searcher embeds the query meanwhile: the model
releases the GIL, and on two cores the two run side by side).

Usage::

    with StoreBatch(store) as batch:
        lexical = batch.lexical_candidates(query, 100, None, None)
        vector = embed(query)                      # the lexical search runs meanwhile
        dense = batch.dense_candidates(vector, 100, None)
    lexical.result().hits, dense.result().hits
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

from index.records import SourceRecord
from index.search.query import MatchPlan, ParsedQuery, Term
from index.storage.contract import Candidates, PassageHit, PassageStore, Pending
from index.storage.lexical_retrieval import lexical_candidates, search_plan

# One pool per process, shared by every generation's store (a pool per store would leave idle threads behind at
# each swap to a new generation).
_LEXICAL_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kb-lexical")


class StoreBatch:
    """Reads answered as they are asked (see the module's docstring).

    :param store: the store whose methods answer.
    """

    def __init__(self, store: PassageStore) -> None:
        self.store = store

    def __enter__(self) -> StoreBatch:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        return None

    def lexical_candidates(self, query: ParsedQuery, top_k: int, filters: dict[str, Any] | None,
                           title_weight: float | None, terms: Sequence[Term] = (),
                           texts: bool = False) -> Pending[Candidates]:
        """In a worker thread: the engine reads what the searches and ``terms`` need, then the strict and relaxed
        searches (the texts are left to :meth:`PassageStore.near_rowids`, which reads them locally)."""
        def search() -> Candidates:
            engine = self.store.lexical_index()
            if engine is not None:
                plans = [search_plan(query, relaxed, engine) for relaxed in (False, True)]
                engine.prepare([p for p in plans if p is not None], terms, title_weight)
            hits, more = lexical_candidates(self.store, query, top_k, filters, False, title_weight)
            return Candidates(hits, more)

        return Pending(_LEXICAL_POOL.submit(search).result)

    def dense_candidates(self, query_embedding: Sequence[float], top_k: int, filters: dict[str, Any] | None,
                         texts: bool = False, floor: float | None = None) -> Pending[Candidates]:
        hits = self.store.embedding_retrieval(query_embedding, top_k, filters, with_content=False)
        near = self.store.sources_near(query_embedding, floor) if floor is not None else {}
        return Pending.ready(Candidates(hits, near=near))

    def source_counts(self, terms: Sequence[Term]) -> Pending[list[dict[str, int]]]:
        engine = self.store.lexical_index()
        return Pending.ready(engine.source_counts(terms) if engine is not None else [{} for _ in terms])

    def passages_matching(self, plan: MatchPlan, top_k: int, source_ids: Collection[str],
                          title_weight: float | None) -> Pending[list[PassageHit]]:
        engine = self.store.lexical_index()
        if engine is None:
            return Pending.ready([])
        found = engine.search(plan, top_k, source_ids=source_ids, title_weight=title_weight)
        return Pending.ready(self.store.hits(found, with_content=True))

    def hits(self, found: list[tuple[int, float]], with_content: bool) -> Pending[list[PassageHit]]:
        return Pending.ready(self.store.hits(found, with_content))

    def shown(self, rowids: Iterable[int], source_ids: Iterable[str]) -> Pending[tuple[dict[int, PassageHit],
                                                                                       dict[str, SourceRecord]]]:
        return Pending.ready(self.store.shown(rowids, source_ids))
