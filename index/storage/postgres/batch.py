"""A search's reads sent together: one pipeline, one round trip (PostgreSQL's
:class:`~index.storage.contract.ReadBatch`).

Each read is a store or engine method's :class:`~index.storage.postgres.reads.Read`, sent when it is asked (the
server starts on it while the caller goes on: the searcher embeds the query meanwhile) and answered when the
batch ends, from the rows the pipeline's one ``Sync`` brought back. The lexical searches need their words'
statistics first (document frequencies weigh the words and choose the pruned plan) and, for a filter on other
fields than the source, the rows it keeps: where one is not known yet, the batch waits for it at once (a round
trip of its own, before anything slow is sent), then sends the searches. A generation's statistics never
change, and the engine keeps those it has read: a query of known words takes one round trip, others two.

Usage::

    with store.batch() as batch:                      # a pooled connection in pipeline mode
        lexical = batch.lexical_candidates(query, 100, None, None)   # statistics read now if needed; searches sent
        counts = batch.source_counts(terms)           # sent at once
    counts.result(), lexical.result()
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from types import TracebackType
from typing import Any, Protocol, TypeVar

from index.records import SourceRecord
from index.search.query import MatchPlan, ParsedQuery, Term
from index.storage.contract import Candidates, PassageHit, Pending
from index.storage.filters import source_ids_of
from index.storage.lexical_retrieval import filled, search_plan
from index.storage.postgres.lexical_search import FoundRow, PgLexicalIndex
from index.storage.postgres.reads import Nearest, Read

T = TypeVar("T")


class BatchedStore(Protocol):
    """The reads a batch sends, as :class:`~index.storage.postgres.store.PgDocumentStore` builds them."""

    def lexical_index(self) -> PgLexicalIndex: ...
    def filtered_rowids_read(self, filters: dict[str, Any]) -> Read[list[int]]: ...
    def nearest_read(self, query_embedding: Sequence[float], top_k: int, filters: dict[str, Any] | None = None,
                     texts: bool = False, floor: float | None = None) -> Read[Nearest]: ...
    def hits(self, found: list[tuple[int, float]], with_content: bool) -> list[PassageHit]: ...
    def hits_read(self, found: list[tuple[int, float]], with_content: bool) -> Read[list[PassageHit]]: ...
    def shown_read(self, rowids: Iterable[int], source_ids: Iterable[str]
                   ) -> Read[tuple[dict[int, PassageHit], dict[str, SourceRecord]]]: ...


class PgReadBatch:
    """The reads of one step of a search, on one pooled connection in pipeline mode (see the module's docstring).

    :param store: the generation's store, whose reads the batch sends.
    :param pool: where the batch takes its connection (the store's: autocommit).
    """

    def __init__(self, store: BatchedStore, pool: Any) -> None:
        self.store = store
        self._pool = pool
        self._lease: Any = None
        self._conn: Any = None
        self._piping: Any = None
        self._pipeline: Any = None
        self._sent: list[Pending[Any]] = []  # answered from the rows received, while the connection is held

    def __enter__(self) -> PgReadBatch:
        self._lease = self._pool.connection()
        self._conn = self._lease.__enter__()
        try:
            self._piping = self._conn.pipeline()
            self._pipeline = self._piping.__enter__()
        except BaseException:
            self._lease.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            self._piping.__exit__(kind, error, traceback)  # the Sync: one wait for all the rows
            if kind is None:
                self._answer()
        finally:
            self._lease.__exit__(kind, error, traceback)

    def _answer(self) -> None:
        """Turn the rows received into answers while the connection is held (a statistics read keeps its
        statistics then)."""
        sent, self._sent = self._sent, []
        for pending in sent:
            pending.result()

    def _wait(self) -> None:
        """Wait for the answers of every read sent so far (a round trip), the pipeline staying open."""
        self._pipeline.sync()
        self._answer()

    def _send(self, read: Read[T]) -> Pending[T]:
        if not read.statements:
            return Pending.ready(read.answer([]))
        cursors = [self._conn.execute(query, params) for query, params in read.statements]
        pending = Pending(lambda: read.answer([cursor.fetchall() for cursor in cursors]))
        self._sent.append(pending)
        return pending

    def _searches(self, plans: Sequence[MatchPlan | None], top_k: int, source_ids: Collection[str] | None,
                  title_weight: float | None, filters: dict[str, Any] | None = None, texts: bool = False,
                  passages: bool = False, terms: Sequence[Term] = ()) -> list[Pending[list[FoundRow]]]:
        """Lexical searches, sent once their words' statistics (and the rows ``filters`` keeps, when it is not a
        filter on sources) are known: those not yet known, and ``terms``' (words the caller will weigh), are
        read first, in one round trip."""
        engine = self.store.lexical_index()
        stats = engine.stats_read([p for p in plans if p is not None], terms, title_weight)
        if stats is not None:
            self._send(stats)
        rowids = self._send(self.store.filtered_rowids_read(filters)) if filters and source_ids is None else None
        if stats is not None or rowids is not None:
            self._wait()
        within = rowids.result() if rowids is not None else None
        return [self._send(engine.search_read(plan, top_k, source_ids, (), title_weight, within, texts=texts,
                                              passages=passages)) if plan is not None else Pending.ready([])
                for plan in plans]

    # -- the reads ----------------------------------------------------------------------------

    def lexical_candidates(self, query: ParsedQuery, top_k: int, filters: dict[str, Any] | None,
                           title_weight: float | None, terms: Sequence[Term] = (),
                           texts: bool = False) -> Pending[Candidates]:
        """The strict and relaxed searches together: the relaxed one for ``top_k`` rather than for what the strict
        one leaves (:func:`~index.storage.lexical_retrieval.filled`: the same answer), so neither waits for the
        other."""
        engine = self.store.lexical_index()
        strict_plan, relaxed_plan = (search_plan(query, relaxed, engine) for relaxed in (False, True))
        strict, relaxed = self._searches([strict_plan, relaxed_plan], top_k, source_ids_of(filters), title_weight,
                                         filters, texts, terms=terms)

        def answer() -> Candidates:
            strict_rows, relaxed_rows = strict.result(), relaxed.result()
            hits = self._hits(strict_rows)
            found = {r.rowid: (r.content or "", r.title or "") for r in (*strict_rows, *relaxed_rows)} if texts else {}
            return Candidates(hits, filled(hits, self._hits(relaxed_rows), top_k), found)

        return Pending(answer)

    def _hits(self, rows: list[FoundRow]) -> list[PassageHit]:
        return [PassageHit(r.rowid, r.id or "", r.source_id, "", {}, r.score) for r in rows]

    def dense_candidates(self, query_embedding: Sequence[float], top_k: int, filters: dict[str, Any] | None,
                         texts: bool = False, floor: float | None = None) -> Pending[Candidates]:
        nearest = self._send(self.store.nearest_read(query_embedding, top_k, filters, texts, floor))

        def answer() -> Candidates:
            found = nearest.result()
            # The search's own rows named every passage: no statement.
            return Candidates(self.store.hits(found.found, with_content=False), texts=found.texts, near=found.near)

        return Pending(answer)

    def source_counts(self, terms: Sequence[Term]) -> Pending[list[dict[str, int]]]:
        return self._send(self.store.lexical_index().source_counts_read(terms))

    def passages_matching(self, plan: MatchPlan, top_k: int, source_ids: Collection[str],
                          title_weight: float | None) -> Pending[list[PassageHit]]:
        found = self._searches([plan], top_k, source_ids, title_weight, None, passages=True)[0]
        return Pending(lambda: [PassageHit(r.rowid, r.id or "", r.source_id, r.content or "",
                                           json.loads(r.meta) if r.meta else {}, r.score) for r in found.result()])

    def hits(self, found: list[tuple[int, float]], with_content: bool) -> Pending[list[PassageHit]]:
        return self._send(self.store.hits_read(found, with_content))

    def shown(self, rowids: Iterable[int], source_ids: Iterable[str]) -> Pending[tuple[dict[int, PassageHit],
                                                                                       dict[str, SourceRecord]]]:
        return self._send(self.store.shown_read(rowids, source_ids))
