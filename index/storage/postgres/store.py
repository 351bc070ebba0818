"""A published generation in PostgreSQL: the same read interface as :class:`index.storage.local.store.KBDocumentStore`.

Each generation is one schema (``index.storage.postgres.pool.gen_schema``), written whole by
:class:`index.storage.postgres.generations.PgGenerations` when it publishes a build and never changed after:

``sources``        one row per source (its record's columns, ``meta`` as jsonb)
``chunks``         one row per passage: ``rowid`` (the build's, so vector and lexical ids agree), text, meta,
                   ``embedding vector(d)``; an HNSW index (inner product) when the generation is large enough
                   for approximate search (``choose_factory``), else an exact scan, as FAISS ``Flat``
``source_signatures``, ``source_vectors``, ``files`` (pages.json, projects.json, ...) and the lexical
postings of :mod:`index.storage.postgres.lexical_search`.

The searcher, the web app, the quality gate and ``kb eval`` read a generation only through these
methods, so they work unchanged on either backend. Writing happens in a local build
(``KBDocumentStore``) that is then copied in: this store is read-only.

Usage::

    store = PgDocumentStore(url, "kbg_20261124t101500_123456_ab12")
    store.embedding_retrieval(vector, top_k=10)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from haystack import Document, default_from_dict, default_to_dict
from haystack.document_stores.types import DuplicatePolicy

from index.records import FacetRow, Inspection, SourceRecord
from index.search.query import MatchPlan, ParsedQuery
from index.storage.contract import PassageHit
from index.storage.filters import compile_pg_filters, source_ids_of
from index.storage.postgres.batch import PgReadBatch
from index.storage.postgres.lexical_search import PgLexicalIndex
from index.storage.postgres.pool import ProcessPool, redacted
from index.storage.postgres.reads import Nearest, Read, ask

# An HNSW search looks at this many candidates at least (pgvector's default is 40); more for a deeper top_k.
# The hnsw_ef_search setting's default: 100 cost csc-reports' dense ranking 0.026 nDCG@10, 400 0.004, 1000
# nothing (docs/ranking.md, "The whole ranking on PostgreSQL").
HNSW_EF_SEARCH = 400
# Passage ids kept per generation for the hits of later statements (about 150 bytes each).
_IDS_KEPT = 100_000

_SOURCE_COLUMNS = "id, source, title, type, content, content_hash, date, publisher, url, meta::text"


class PgDocumentStore:
    """One published generation's schema in PostgreSQL, read-only.

    :param url: the libpq URL (the ``store_url`` setting).
    :param schema: the generation's schema.
    :param ef_search: candidates an HNSW search looks at, at least (more: slower, nearer exact).
    """

    read_only = True

    def __init__(self, url: str, schema: str, ef_search: int = HNSW_EF_SEARCH) -> None:
        self.url = url
        self.schema = schema
        self.ef_search = ef_search
        self.path = f"{redacted(url)} ({schema})"
        # Autocommit: a read is its statement (or pipeline of them) alone, with no BEGIN or COMMIT round trip.
        self._pool = ProcessPool(url, autocommit=True)
        self._lexical: PgLexicalIndex | None = None
        self._lexical_lock = threading.Lock()
        self._hnsw: bool | None = None
        # Each passage a search found: its id and source (a generation never changes), so the candidates'
        # rows are not read again by another statement.
        self._ids: dict[int, tuple[str, str | None]] = {}
        self._ids_lock = threading.Lock()

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        with self._pool.connection() as conn:
            return conn.execute(sql.replace("{s}", self.schema), params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._rows(sql, params)
        return rows[0][0] if rows else None

    def close(self) -> None:
        """Nothing to close: connections belong to the process's pool (index.storage.postgres.pool.pool_for)."""

    # -- serialisation and the DocumentStore protocol ---------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, url=self.url, schema=self.schema, ef_search=self.ef_search)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PgDocumentStore:
        return default_from_dict(cls, data)

    def count_documents(self) -> int:
        return int(self._one("SELECT count(*) FROM {s}.chunks"))

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """The passages matching a Haystack filter, in row order, with embeddings.

        :raises FilterError: for a malformed filter.
        """
        where, params = compile_pg_filters(filters)
        rows = self._rows(f"SELECT c.id, c.content, c.meta::text, c.embedding FROM {{s}}.chunks c WHERE {where} "
                          "ORDER BY c.rowid", params)
        return [Document(id=i, content=content, meta=json.loads(meta), embedding=_as_list(vector))
                for i, content, meta, vector in rows]

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        raise PermissionError(f"The store {self.path} is a published generation and cannot be changed.")

    def delete_documents(self, document_ids: list[str]) -> None:
        raise PermissionError(f"The store {self.path} is a published generation and cannot be changed.")

    # -- sources -----------------------------------------------------------------------------

    def count_sources(self) -> int:
        return int(self._one("SELECT count(*) FROM {s}.sources"))

    def get_source(self, source_id: str) -> SourceRecord | None:
        rows = self._rows(f"SELECT {_SOURCE_COLUMNS} FROM {{s}}.sources WHERE id = %s", (source_id,))
        return SourceRecord.from_columns(rows[0]) if rows else None

    def get_sources(self, source_ids: Iterable[str]) -> dict[str, SourceRecord]:
        """Source records by id, without their text (``content`` is empty), for result lists."""
        ids = list(dict.fromkeys(source_ids))
        if not ids:
            return {}
        rows = self._rows("SELECT id, source, title, type, '', content_hash, date, publisher, url, meta::text "
                          "FROM {s}.sources WHERE id = ANY(%s)", (ids,))
        return {row[0]: SourceRecord.from_columns(row) for row in rows}

    def all_sources(self) -> Iterator[SourceRecord]:
        """Every source record with its text, in insertion order (streamed, for carrying them over)."""
        # A server-side cursor lives in a transaction (the pool's connections are in autocommit).
        with self._pool.connection() as conn, conn.transaction(), conn.cursor(name="all_sources") as cursor:
            cursor.itersize = 500
            cursor.execute(f"SELECT {_SOURCE_COLUMNS} FROM {self.schema}.sources ORDER BY pos")
            for row in cursor:
                yield SourceRecord.from_columns(row)

    def signatures(self) -> dict[str, bytes]:
        return {r[0]: bytes(r[1]) for r in self._rows("SELECT id, minhash FROM {s}.source_signatures")}

    def titles_containing(self, text: str, limit: int) -> list[tuple[str, str]]:
        """``(id, title)`` of sources whose title contains ``text`` (any case), titles starting with it first."""
        text = text.replace("\x00", "")  # no title holds one, and PostgreSQL text cannot
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._rows(
            "SELECT id, title FROM {s}.sources WHERE title ILIKE %s AND meta->>'duplicate_of' IS NULL "
            "ORDER BY title NOT ILIKE %s, lower(title), title LIMIT %s", (f"%{escaped}%", f"{escaped}%", limit))
        return [(r[0], r[1]) for r in rows]

    def facet_rows(self) -> list[FacetRow]:
        """Each source that has passages (not a collapsed duplicate), with its facet values."""
        rows = self._rows(
            "SELECT id, type, date, meta->'councils', meta->'themes', meta->'projects', meta->'inspection', "
            "publisher, title FROM {s}.sources WHERE meta->>'duplicate_of' IS NULL ORDER BY pos")
        return [FacetRow.of(r[0], r[1], r[2], tuple(r[3] or ()), tuple(r[4] or ()), r[5] or [],
                            Inspection.from_dict(r[6]) if r[6] else None, r[7], r[8]) for r in rows]

    def source_ids(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT id FROM {s}.sources ORDER BY pos")]

    def source_hashes(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._rows("SELECT source, content_hash FROM {s}.sources")}

    def source_documents(self, source_id: str) -> list[Document]:
        """One source's passages as Documents with their vectors, for carrying them into a new build."""
        rows = self._rows("SELECT id, content, meta::text, embedding FROM {s}.chunks WHERE source_id = %s "
                          "ORDER BY rowid", (source_id,))
        return [Document(id=i, content=c, meta=json.loads(m), embedding=_as_list(v)) for i, c, m, v in rows]

    def source_passages(self, source_id: str) -> list[PassageHit]:
        rows = self._rows("SELECT rowid, id, source_id, content, meta::text FROM {s}.chunks WHERE source_id = %s "
                          "ORDER BY rowid", (source_id,))
        return [PassageHit(r[0], r[1], r[2], r[3], json.loads(r[4]), 0.0) for r in rows]

    def passages_by_rowid(self, rowids: Iterable[int]) -> dict[int, PassageHit]:
        ids = [int(r) for r in rowids]
        if not ids:
            return {}
        rows = self._rows("SELECT rowid, id, source_id, content, meta::text FROM {s}.chunks WHERE rowid = ANY(%s)",
                          (ids,))
        return {r[0]: PassageHit(r[0], r[1], r[2], r[3], json.loads(r[4]), 0.0) for r in rows}

    def passage_vectors(self) -> Iterator[tuple[str, np.ndarray]]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor(name="passage_vectors") as cursor:
            cursor.itersize = 2000
            cursor.execute(f"SELECT source_id, embedding FROM {self.schema}.chunks WHERE embedding IS NOT NULL "
                           "ORDER BY rowid")
            for source_id, vector in cursor:
                yield source_id, _as_array(vector)

    def embeddings_by_source(self, source_ids: Sequence[str]) -> dict[str, list[np.ndarray]]:
        out: dict[str, list[np.ndarray]] = {}
        if not source_ids:
            return out
        rows = self._rows("SELECT source_id, embedding FROM {s}.chunks WHERE source_id = ANY(%s) "
                          "AND embedding IS NOT NULL ORDER BY source_id, rowid", (list(source_ids),))
        for source_id, vector in rows:
            out.setdefault(source_id, []).append(_as_array(vector))
        return out

    def source_vectors(self) -> dict[str, np.ndarray]:
        rows = self._rows("SELECT source_id, vector FROM {s}.source_vectors")
        return {s: np.frombuffer(bytes(b), dtype=np.float32) for s, b in rows}

    def vector_factory(self) -> str:
        """``HNSW`` when the passages have an approximate index, ``Flat`` when every search is an exact scan."""
        return "HNSW" if self._has_hnsw() else "Flat"

    def _has_hnsw(self) -> bool:
        if self._hnsw is None:
            self._hnsw = bool(self._one(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = 'chunks_embedding_hnsw'",
                (self.schema,)))
        return self._hnsw

    # -- retrieval ---------------------------------------------------------------------------

    def lexical_index(self) -> PgLexicalIndex:
        """The generation's lexical postings (:class:`~index.storage.postgres.lexical_search.PgLexicalIndex`),
        opened once."""
        if self._lexical is None:
            with self._lexical_lock:
                if self._lexical is None:
                    self._lexical = PgLexicalIndex(self._pool, self.schema, found=self._remember)
        return self._lexical

    def fts_retrieval(self, query: ParsedQuery, relaxed: bool, top_k: int, filters: dict[str, Any] | None,
                      exclude_rowids: Iterable[int], with_content: bool,
                      title_weight: float | None) -> list[PassageHit]:
        """Nothing: every PostgreSQL generation has its lexical tables (this is for older local ones)."""
        return []

    def filtered_rowids(self, filters: dict[str, Any]) -> list[int]:
        """Rowids of the passages a filter keeps."""
        return ask(self._pool, self.filtered_rowids_read(filters))

    def filtered_rowids_read(self, filters: dict[str, Any]) -> Read[list[int]]:
        where, params = compile_pg_filters(filters)
        return Read(((f"SELECT c.rowid FROM {self.schema}.chunks c WHERE {where}", params),),
                    lambda rows: [r[0] for r in rows[0]])

    def _remember(self, rows: Iterable[tuple[int, str, str | None]]) -> None:
        with self._ids_lock:
            if len(self._ids) > _IDS_KEPT:
                self._ids.clear()
            self._ids.update((rowid, (passage_id, source_id)) for rowid, passage_id, source_id in rows)

    def hits(self, found: list[tuple[int, float]], with_content: bool) -> list[PassageHit]:
        """``(rowid, score)`` pairs as passages, in the same order; without their text, from what the searches
        that found them said when they can."""
        return ask(self._pool, self.hits_read(found, with_content))

    def hits_read(self, found: list[tuple[int, float]], with_content: bool) -> Read[list[PassageHit]]:
        """:meth:`hits` as a statement (none where the searches that found the passages said all it needs)."""
        if not found:
            return Read.done([])
        if not with_content:
            with self._ids_lock:
                known = {rowid: self._ids.get(rowid) for rowid, _ in found}
            ids = {rowid: pair for rowid, pair in known.items() if pair is not None}
            if len(ids) == len(known):
                return Read.done([PassageHit(rowid, ids[rowid][0], ids[rowid][1], "", {}, score)
                                  for rowid, score in found])
        columns = "content, meta::text" if with_content else "'', '{}'"

        def answer(rows: list[list[tuple]]) -> list[PassageHit]:
            by_rowid = {r[0]: r for r in rows[0]}
            return [PassageHit(rowid, row[1], row[2], row[3] if with_content else "",
                               json.loads(row[4]) if with_content else {}, score)
                    for rowid, score in found if (row := by_rowid.get(rowid)) is not None]

        return Read(((f"SELECT rowid, id, source_id, {columns} FROM {self.schema}.chunks WHERE rowid = ANY(%s)",
                      ([int(i) for i, _ in found],)),), answer)

    def embedding_retrieval(
        self, query_embedding: Sequence[float], top_k: int = 10, filters: dict[str, Any] | None = None,
        with_content: bool = True,
    ) -> list[PassageHit]:
        """Passages nearest to a (normalised) query vector by inner product; filters apply before ranking.

        An exact scan unless the generation has an HNSW index; then pgvector's iterative scan keeps
        searching the graph until ``top_k`` passages pass the filter.
        """
        found = ask(self._pool, self.nearest_read(query_embedding, top_k, filters))
        return self.hits(found.found, with_content)

    def nearest_read(self, query_embedding: Sequence[float], top_k: int, filters: dict[str, Any] | None = None,
                     texts: bool = False, floor: float | None = None) -> Read[Nearest]:
        """:meth:`embedding_retrieval`'s search as statements, the passages with their ids and sources, and, when
        asked, their ``texts`` (text and title) and, with a ``floor``, :meth:`sources_near`'s answer.

        Each passage's distance is computed once (a vector is stored out of line: each computation reads it
        again). Without filters and without an HNSW index both answers come from one scan of the vectors; with
        an HNSW index, its settings go first (one implicit transaction up to the pipeline's end, so
        ``set_config(…, true)`` holds for the search).
        """
        query = np.asarray(query_embedding, dtype=np.float32).reshape(-1)
        columns = "c.content, c.title" if texts else "NULL, NULL"
        passages = f"{self.schema}.chunks"
        statements: list[tuple[Any, Any]] = []
        merged = False
        if floor is not None and not filters and not self._has_hnsw():
            merged = True
            statements.append((
                f"WITH d AS MATERIALIZED (SELECT c.rowid, c.source_id, c.embedding <#> %(q)s AS distance "
                f"FROM {passages} c WHERE c.embedding IS NOT NULL), "
                "top AS (SELECT rowid, distance FROM d ORDER BY distance LIMIT %(k)s), "
                "near AS (SELECT DISTINCT ON (source_id) source_id, rowid, distance FROM d "
                "WHERE source_id IS NOT NULL AND -distance >= %(floor)s ORDER BY source_id, distance) "
                f"SELECT true, t.rowid, -t.distance, c.id, c.source_id, {columns} FROM top t "
                f"JOIN {passages} c ON c.rowid = t.rowid "
                "UNION ALL SELECT false, n.rowid, -n.distance, NULL, n.source_id, NULL, NULL FROM near n",
                {"q": query, "k": int(top_k), "floor": float(floor)}))
        else:
            where, params = ("TRUE", [])
            source_ids = source_ids_of(filters)
            if source_ids is not None:
                where, params = "c.source_id = ANY(%s)", [sorted(source_ids)]
            elif filters:
                where, params = compile_pg_filters(filters)
            if self._has_hnsw():
                ef_search = max(int(self.ef_search), min(int(top_k), 1000))
                statements.append(("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef_search),)))
                if filters:
                    statements.append(("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)", ()))
            # The top k first, their passages' columns after: the scan does not carry every passage's text.
            statements.append((
                f"SELECT true, t.rowid, -t.distance, c.id, c.source_id, {columns} FROM ("
                f"SELECT c.rowid, c.embedding <#> %s AS distance FROM {passages} c "
                f"WHERE c.embedding IS NOT NULL AND {where} ORDER BY distance LIMIT %s) t "
                f"JOIN {passages} c ON c.rowid = t.rowid", [query, *params, int(top_k)]))
            if floor is not None:
                statements.append(self.sources_near_read(query_embedding, floor).statements[0])

        def answer(rows: list[list[tuple]]) -> Nearest:
            if merged:
                found = [r for r in rows[0] if r[0]]
                near = {r[4]: (int(r[1]), float(r[2])) for r in rows[0] if not r[0]}
            else:  # the search's rows follow the settings' and come before the sources'
                found = rows[-2] if floor is not None else rows[-1]
                near = {r[0]: (int(r[1]), float(r[2])) for r in rows[-1]} if floor is not None else {}
            self._remember((int(r[1]), r[3], r[4]) for r in found)
            # Nearest first, ties by row (an HNSW scan in relaxed order returns a few out of place).
            pairs = sorted(((int(r[1]), float(r[2])) for r in found), key=lambda pair: (-pair[1], pair[0]))
            return Nearest(pairs, {int(r[1]): (r[5] or "", r[6] or "") for r in found} if texts else {}, near)

        return Read(tuple(statements), answer)

    def sources_near(self, query_embedding: Sequence[float], floor: float) -> dict[str, tuple[int, float]]:
        """Every source with a passage at cosine ``floor`` or above, with its closest passage ``(rowid, cosine)``:
        one statement, an exact scan (a range is not what an HNSW graph answers)."""
        return ask(self._pool, self.sources_near_read(query_embedding, floor))

    def sources_near_read(self, query_embedding: Sequence[float], floor: float) -> Read[dict[str, tuple[int, float]]]:
        query = np.asarray(query_embedding, dtype=np.float32).reshape(-1)
        # Each distance computed once (OFFSET 0 keeps the inner query whole, not merged into the outer one).
        sql = ("SELECT DISTINCT ON (x.source_id) x.source_id, x.rowid, -x.distance FROM ("
               f"SELECT c.source_id, c.rowid, c.embedding <#> %s AS distance FROM {self.schema}.chunks c "
               "WHERE c.embedding IS NOT NULL AND c.source_id IS NOT NULL OFFSET 0) x "
               "WHERE -x.distance >= %s ORDER BY x.source_id, x.distance")
        return Read(((sql, [query, float(floor)]),), lambda rows: {r[0]: (int(r[1]), float(r[2])) for r in rows[0]})

    def passage_texts(self, rowids: Sequence[int]) -> dict[int, tuple[str, str]]:
        rows = self._rows("SELECT rowid, content, title FROM {s}.chunks WHERE rowid = ANY(%s)",
                          ([int(r) for r in rowids],))
        return {r[0]: (r[1] or "", r[2] or "") for r in rows}

    def near_rowids(self, query: ParsedQuery, rowids: Sequence[int],
                    texts: Mapping[int, tuple[str, str]] | None = None) -> set[int]:
        """Which of ``rowids`` hold all the query's content words close together (checked on their text: ``texts``
        where given, read for the others)."""
        if query.proximity_match() is None or not rowids:
            return set()
        known = dict(texts or {})
        missing = [rowid for rowid in rowids if rowid not in known]
        if missing:
            known.update(self.passage_texts(missing))
        return self.lexical_index().near(query.proximity_terms(), {r: known[r] for r in rowids if r in known},
                                         query.proximity_gap())

    def matching_rowids(self, match: str, rowids: Iterable[int] | None = None, plan: MatchPlan | None = None
                        ) -> set[int]:
        """Rowids among ``rowids`` whose passage matches ``plan`` (``match`` is the FTS5 form, unused here)."""
        if plan is None or rowids is None:
            raise ValueError("A PostgreSQL generation matches a plan among given rows only.")
        return self.lexical_index().matching(plan, list(rowids))

    def sources_matching(self, match: str, among: Iterable[str] | None = None,
                         plan: MatchPlan | None = None) -> set[str]:
        """Ids of sources among ``among`` with a passage holding any word of ``plan``."""
        if plan is None or among is None:
            raise ValueError("A PostgreSQL generation matches a plan among given sources only.")
        return self.lexical_index().sources_matching(tuple(t for clause in plan.clauses for t in clause), set(among))

    def highlight_query(self, query: ParsedQuery, rowids: Iterable[int], open_mark: str, close_mark: str,
                        texts: Mapping[int, str] | None = None) -> dict[int, str]:
        """Passage text with marks around the tokens the query's words hit, for the given rows (their ``texts``
        when given, else read)."""
        ids = list(rowids)
        if not ids:
            return {}
        if texts is None or any(rowid not in texts for rowid in ids):
            texts = {rowid: content for rowid, (content, _) in self.passage_texts(ids).items()}
        return self.lexical_index().highlight(query, {r: texts[r] for r in ids if r in texts}, open_mark, close_mark)

    def shown(self, rowids: Iterable[int], source_ids: Iterable[str]) -> tuple[dict[int, PassageHit],
                                                                             dict[str, SourceRecord]]:
        """The passages and their sources' records (without text) a results page shows, in one round trip."""
        return ask(self._pool, self.shown_read(rowids, source_ids))

    def shown_read(self, rowids: Iterable[int], source_ids: Iterable[str]
                   ) -> Read[tuple[dict[int, PassageHit], dict[str, SourceRecord]]]:
        ids, sources = [int(r) for r in rowids], list(dict.fromkeys(source_ids))
        statements: list[tuple[Any, Any]] = []
        if ids:
            statements.append((f"SELECT rowid, id, source_id, content, meta::text FROM {self.schema}.chunks "
                               "WHERE rowid = ANY(%s)", (ids,)))
        if sources:
            statements.append(("SELECT id, source, title, type, '', content_hash, date, publisher, url, "
                               f"meta::text FROM {self.schema}.sources WHERE id = ANY(%s)", (sources,)))

        def answer(rows: list[list[tuple]]) -> tuple[dict[int, PassageHit], dict[str, SourceRecord]]:
            passage_rows = rows[0] if ids else []
            record_rows = rows[-1] if sources else []
            return ({r[0]: PassageHit(r[0], r[1], r[2], r[3], json.loads(r[4]), 0.0) for r in passage_rows},
                    {row[0]: SourceRecord.from_columns(row) for row in record_rows})

        return Read(tuple(statements), answer)

    def batch(self) -> PgReadBatch:
        """Reads sent together, one pipeline a round (:class:`~index.storage.postgres.batch.PgReadBatch`)."""
        return PgReadBatch(self, self._pool)


def _as_array(vector: Any) -> np.ndarray:
    # pgvector's loader gives a Vector (0.5) or an array (older releases).
    return np.asarray(vector.to_numpy() if hasattr(vector, "to_numpy") else vector, dtype=np.float32)


def _as_list(vector: Any) -> list[float] | None:
    return None if vector is None else _as_array(vector).tolist()
