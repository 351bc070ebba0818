"""The local generation store: sources and passages in SQLite (with FTS5), vectors through FAISS
(:mod:`index.storage.local.vectors`), words through tantivy (:mod:`index.storage.local.lexical`).

It implements Haystack's ``DocumentStore`` protocol over passages (Haystack ``Document`` s) and
keeps source-level records (title, publisher, cleaned text, ...) beside them.

Usage::

    store = KBDocumentStore("generations/abc/chunks.sqlite")
    store.write_documents([Document(content="...", meta={"source_id": "s1"}, embedding=[...])])
    store.save_vectors("generations/abc/vectors.faiss")
    hits = store.bm25_retrieval('"adolescents" AND "care"', top_k=10)
"""

from __future__ import annotations

import bisect
import json
import logging
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from haystack import Document, default_from_dict, default_to_dict
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy

from index.records import FacetRow, Inspection, SourceRecord
from index.search.query import MatchPlan, ParsedQuery
from index.storage.batch import StoreBatch
from index.storage.contract import SCHEMA_VERSION, LexicalRow, PassageHit
from index.storage.filters import compile_filters
from index.storage.local.lexical import LexicalIndex
from index.storage.local.vectors import DEFAULT_NPROBE, DerivedFrom, FaissVectors

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    type TEXT NOT NULL,
    date TEXT,
    publisher TEXT,
    url TEXT,
    content TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    content TEXT,
    title TEXT NOT NULL DEFAULT '',
    source_id TEXT,
    meta TEXT NOT NULL DEFAULT '{}',
    embedding BLOB
);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source_id);
CREATE TABLE IF NOT EXISTS source_signatures (id TEXT PRIMARY KEY, minhash BLOB NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    content, title, content='chunks', content_rowid='rowid',
    tokenize='porter unicode61 remove_diacritics 2'
);
"""


class KBDocumentStore:
    """Passages in SQLite with FTS5, vectors in FAISS (exact inner product by default).

    :param path: the SQLite file; created (with its schema) unless ``read_only``.
    :param read_only: open a published, immutable generation for reading.
    :param vectors_path: a FAISS file written by :meth:`save_vectors`; without it the vector
        index is built in memory from the stored embeddings on first use.
    :param faiss_factory: FAISS index factory string used when the vector index is built here, or
        ``auto``: exact (``Flat``) below :data:`ANN_MIN_PASSAGES` passages, an inverted file of
        8-bit codes (``IVF<n>,SQ8``) from there (see :func:`choose_factory`).
    :param nprobe: inverted lists searched per query by an IVF index (more: slower, nearer exact).
    :param lexical_path: a tantivy index written by :meth:`save_lexical`; when absent (older
        generations, stores never published) lexical search falls back to FTS5's bm25.
    """

    def __init__(
        self,
        path: str | Path,
        read_only: bool = False,
        vectors_path: str | Path | None = None,
        faiss_factory: str = "auto",
        nprobe: int = DEFAULT_NPROBE,
        lexical_path: str | Path | None = None,
    ) -> None:
        self.path = str(path)
        self.read_only = read_only
        self.vectors_path = str(vectors_path) if vectors_path else None
        self.faiss_factory = faiss_factory
        self.nprobe = nprobe
        # Set when this build started from a copy of the live generation (:meth:`derive_from`).
        self._base: DerivedFrom | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self.vectors = FaissVectors(self._conn, self.vectors_path, faiss_factory, nprobe, lambda: self._base,
                                    read_only, self.path)
        self.lexical_path = str(lexical_path) if lexical_path else None
        self._lexical: LexicalIndex | None = None
        self._lexical_lock = threading.Lock()
        self._lexical_unreadable = False
        if not read_only:
            with self._conn() as conn:
                conn.executescript(_SCHEMA)
                conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES('rank', 'bm25(1.0, 0.5)')")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- connections -------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's SQLite connection to the store (read-only and immutable for a published generation)."""
        return self._conn()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.read_only:
                uri = Path(self.path).resolve().as_uri() + "?mode=ro&immutable=1"
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                conn = sqlite3.connect(self.path, check_same_thread=False)
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            with self._connections_lock:
                self._connections = [c for c in self._connections if c is not conn]

    # -- serialisation -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self, path=self.path, read_only=self.read_only, vectors_path=self.vectors_path,
            faiss_factory=self.faiss_factory, nprobe=self.nprobe, lexical_path=self.lexical_path,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KBDocumentStore:
        return default_from_dict(cls, data)

    # -- DocumentStore protocol --------------------------------------------------------------

    def count_documents(self) -> int:
        return self._conn().execute("SELECT count(*) FROM chunks").fetchone()[0]

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Return the passages matching a Haystack filter, in insertion order, with embeddings.

        :raises FilterError: for a malformed filter.
        """
        where, params = compile_filters(filters)
        rows = self._conn().execute(
            f"SELECT c.id, c.content, c.meta, c.embedding FROM chunks c WHERE {where} ORDER BY c.rowid", params
        )
        return [
            Document(id=i, content=content, meta=json.loads(meta), embedding=_vector_to_list(blob))
            for i, content, meta, blob in rows
        ]

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Write passages; ``NONE`` and ``FAIL`` raise on an existing id, ``SKIP`` skips, ``OVERWRITE`` replaces.

        :returns: how many passages were written.
        :raises ValueError: when given anything but a list of Documents.
        :raises DuplicateDocumentError: for an existing id under ``FAIL`` (or ``NONE``).
        """
        if not isinstance(documents, list) or not all(isinstance(d, Document) for d in documents):
            raise ValueError("write_documents expects a list of haystack Document objects.")
        self._check_writable()
        conn = self._conn()
        written = 0
        with conn:
            for doc in documents:
                existing = conn.execute("SELECT rowid FROM chunks WHERE id = ?", (doc.id,)).fetchone()
                if existing:
                    if policy == DuplicatePolicy.SKIP:
                        continue
                    if policy == DuplicatePolicy.OVERWRITE:
                        self._delete_rows(conn, [existing[0]])
                    else:
                        raise DuplicateDocumentError(f"A passage with id {doc.id!r} is already stored.")
                self._insert(conn, doc)
                written += 1
        self.vectors.reset()
        return written

    def delete_documents(self, document_ids: list[str]) -> None:
        self._check_writable()
        conn = self._conn()
        with conn:
            marks = ",".join("?" for _ in document_ids)
            rows = conn.execute(f"SELECT rowid FROM chunks WHERE id IN ({marks})", document_ids).fetchall()
            self._delete_rows(conn, [r[0] for r in rows])
        self.vectors.reset()

    def delete_all_documents(self) -> None:
        self._check_writable()
        conn = self._conn()
        with conn:
            conn.execute("DELETE FROM chunks")
            conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('delete-all')")
        self.vectors.reset()

    def _insert(self, conn: sqlite3.Connection, doc: Document) -> None:
        meta = dict(doc.meta)
        title = str(meta.get("title") or "")
        source_id = meta.get("source_id")
        blob = None if doc.embedding is None else np.asarray(doc.embedding, dtype=np.float32).tobytes()
        cur = conn.execute(
            "INSERT INTO chunks(id, content, title, source_id, meta, embedding) VALUES (?, ?, ?, ?, ?, ?)",
            (doc.id, doc.content, title, source_id, json.dumps(meta, ensure_ascii=False), blob),
        )
        conn.execute(
            "INSERT INTO chunks_fts(rowid, content, title) VALUES (?, ?, ?)", (cur.lastrowid, doc.content or "", title)
        )

    @staticmethod
    def _delete_rows(conn: sqlite3.Connection, rowids: Sequence[int]) -> None:
        for rowid in rowids:
            content, title = conn.execute("SELECT content, title FROM chunks WHERE rowid = ?", (rowid,)).fetchone()
            conn.execute(
                "INSERT INTO chunks_fts(chunks_fts, rowid, content, title) VALUES('delete', ?, ?, ?)",
                (rowid, content or "", title),
            )
            conn.execute("DELETE FROM chunks WHERE rowid = ?", (rowid,))

    def _check_writable(self) -> None:
        if self.read_only:
            raise PermissionError(f"The store {self.path} is a published generation and cannot be changed.")

    # -- sources -----------------------------------------------------------------------------

    def write_source(self, record: SourceRecord) -> None:
        """Insert or replace one source record."""
        self._check_writable()
        conn = self._conn()
        with conn:
            conn.execute(
                "INSERT OR REPLACE INTO sources(id, source, title, type, date, publisher, url, content, content_hash, "
                "meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.id, record.source, record.title, record.type, record.date, record.publisher, record.url,
                 record.content, record.content_hash, record.meta_json()),
            )

    def get_source(self, source_id: str) -> SourceRecord | None:
        row = self._conn().execute(
            "SELECT id, source, title, type, content, content_hash, date, publisher, url, meta FROM sources "
            "WHERE id = ?", (source_id,),
        ).fetchone()
        return None if row is None else SourceRecord.from_columns(row)

    def all_sources(self) -> Iterator[SourceRecord]:
        """Every source record with its text, in insertion order (one scan, for carrying them over)."""
        rows = self._conn().execute(
            "SELECT id, source, title, type, content, content_hash, date, publisher, url, meta FROM sources "
            "ORDER BY rowid")
        for row in rows:
            yield SourceRecord.from_columns(row)

    def write_signatures(self, signatures: dict[str, bytes]) -> None:
        """Store sources' near-duplicate signatures (``ingest.dedupe.signature``), replacing older ones."""
        self._check_writable()
        with self._conn() as conn:
            conn.executemany("INSERT OR REPLACE INTO source_signatures(id, minhash) VALUES (?, ?)",
                             signatures.items())

    def signatures(self) -> dict[str, bytes]:
        """Stored near-duplicate signatures by source id ({} for a generation of format 1, which has none)."""
        try:
            return {r[0]: r[1] for r in self._conn().execute("SELECT id, minhash FROM source_signatures")}
        except sqlite3.OperationalError:
            return {}

    def get_sources(self, source_ids: Iterable[str]) -> dict[str, SourceRecord]:
        """Source records by id, without their text (``content`` is empty), for result lists."""
        ids = list(dict.fromkeys(source_ids))
        if not ids:
            return {}
        marks = ",".join("?" for _ in ids)
        rows = self._conn().execute(
            f"SELECT id, source, title, type, '', content_hash, date, publisher, url, meta FROM sources "
            f"WHERE id IN ({marks})", ids,
        )
        return {row[0]: SourceRecord.from_columns(row) for row in rows}

    def titles_containing(self, text: str, limit: int) -> list[tuple[str, str]]:
        """``(id, title)`` of sources whose title contains ``text`` (any case), titles starting with it first."""
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._conn().execute(
            "SELECT id, title FROM sources WHERE title LIKE ? ESCAPE '\\' "
            "AND json_extract(meta, '$.duplicate_of') IS NULL "
            "ORDER BY title NOT LIKE ? ESCAPE '\\', title LIMIT ?",
            (f"%{escaped}%", f"{escaped}%", limit),
        )
        return [(r[0], r[1]) for r in rows]

    def passage_vectors(self) -> Iterator[tuple[str, np.ndarray]]:
        """``(source_id, vector)`` of every passage that has one."""
        rows = self._conn().execute("SELECT source_id, embedding FROM chunks WHERE embedding IS NOT NULL")
        for source_id, blob in rows:
            yield source_id, np.frombuffer(blob, dtype=np.float32)

    def facet_rows(self) -> list[FacetRow]:
        """Each source that has passages (not a collapsed duplicate), with its facet values."""
        rows = self._conn().execute(
            "SELECT id, type, date, json_extract(meta, '$.councils'), json_extract(meta, '$.themes'), "
            "json_extract(meta, '$.projects'), json_extract(meta, '$.inspection'), publisher, title FROM sources "
            "WHERE json_extract(meta, '$.duplicate_of') IS NULL"
        )
        return [FacetRow.of(r[0], r[1], r[2], tuple(json.loads(r[3] or "[]")), tuple(json.loads(r[4] or "[]")),
                           json.loads(r[5] or "[]"), Inspection.from_dict(json.loads(r[6])) if r[6] else None,
                           r[7], r[8])
                for r in rows]

    def source_ids(self) -> list[str]:
        """Ids of every source, in insertion order."""
        return [r[0] for r in self._conn().execute("SELECT id FROM sources ORDER BY rowid")]

    def source_hashes(self) -> dict[str, str]:
        """Source (path or URL) → hash of the file it came from, for the manifest and incremental runs."""
        return {r[0]: r[1] for r in self._conn().execute("SELECT source, content_hash FROM sources")}

    def finalise(self) -> None:
        """Make the SQLite file self-contained (no WAL) before it is published read-only.

        Connections other threads opened (a search of the build, by the quality gate) are closed first.
        """
        conn = self._conn()
        with self._connections_lock:
            others = [c for c in self._connections if c is not conn]
            self._connections = [conn]
        for other in others:
            other.close()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
        self.close()

    def count_sources(self) -> int:
        return self._conn().execute("SELECT count(*) FROM sources").fetchone()[0]

    def source_documents(self, source_id: str) -> list[Document]:
        """One source's passages as Documents with their vectors (indexed lookup), for copying."""
        rows = self._conn().execute(
            "SELECT id, content, meta, embedding FROM chunks WHERE source_id = ? ORDER BY rowid", (source_id,))
        return [Document(id=i, content=c, meta=json.loads(m), embedding=_vector_to_list(b)) for i, c, m, b in rows]

    def source_passages(self, source_id: str) -> list[PassageHit]:
        """All passages of one source, in order."""
        rows = self._conn().execute(
            "SELECT rowid, id, source_id, content, meta FROM chunks WHERE source_id = ? ORDER BY rowid", (source_id,)
        )
        return [PassageHit(r[0], r[1], r[2], r[3], json.loads(r[4]), 0.0) for r in rows]

    # -- retrieval ---------------------------------------------------------------------------

    def bm25_retrieval(
        self, match: str, top_k: int = 10, filters: dict[str, Any] | None = None,
        exclude_rowids: Iterable[int] = (), with_content: bool = True, title_weight: float | None = None,
    ) -> list[PassageHit]:
        """Passages matching an FTS5 MATCH expression, best bm25 first (score = -bm25, higher is better).

        ``match`` must come from :mod:`index.search.query`, never straight from a user. With
        ``with_content=False`` hits carry ids and scores only (see :meth:`passages_by_rowid`).
        ``title_weight`` weighs the title column against the text (1.0) for this query; None keeps
        the index's own (0.5).
        """
        where, params = compile_filters(filters)
        excluded = list(exclude_rowids)
        not_in = f" AND c.rowid NOT IN ({','.join('?' for _ in excluded)})" if excluded else ""
        columns = "c.content, c.meta" if with_content else "'', '{}'"
        join = "JOIN chunks c ON c.rowid = f.rowid"
        rank = ""
        rank_params: list[Any] = []
        if title_weight is not None:
            rank = " AND f.rank MATCH ?"
            rank_params = [f"bm25(1.0, {float(title_weight):.4f})"]
        rows = self._conn().execute(
            f"SELECT c.rowid, c.id, c.source_id, {columns}, -f.rank FROM chunks_fts f {join} "
            f"WHERE chunks_fts MATCH ?{rank} AND {where}{not_in} ORDER BY f.rank LIMIT ?",
            [match, *rank_params, *params, *excluded, top_k],
        )
        if not with_content:
            return [PassageHit(r[0], r[1], r[2], "", {}, float(r[5])) for r in rows]
        return [PassageHit(r[0], r[1], r[2], r[3], json.loads(r[4]), float(r[5])) for r in rows]

    def fts_retrieval(self, query: ParsedQuery, relaxed: bool, top_k: int, filters: dict[str, Any] | None,
                      exclude_rowids: Iterable[int], with_content: bool,
                      title_weight: float | None) -> list[PassageHit]:
        """Lexical retrieval for a generation without a lexical index (format 1): FTS5's bm25."""
        match = query.relaxed_match() if relaxed else query.strict_match()
        if match is None:
            return []
        return self.bm25_retrieval(match, top_k=top_k, filters=filters, exclude_rowids=exclude_rowids,
                                   with_content=with_content, title_weight=title_weight)

    def filtered_rowids(self, filters: dict[str, Any]) -> list[int]:
        """Rowids of the passages a filter keeps (read through SQLite)."""
        where, params = compile_filters(filters)
        return [r[0] for r in self._conn().execute(f"SELECT c.rowid FROM chunks c WHERE {where}", params)]

    def hits(self, found: list[tuple[int, float]], with_content: bool) -> list[PassageHit]:
        """``(rowid, score)`` pairs as passages, in the same order."""
        if not found:
            return []
        columns = "content, meta" if with_content else "'', '{}'"
        marks = ",".join("?" for _ in found)
        rows = {r[0]: r for r in self._conn().execute(
            f"SELECT rowid, id, source_id, {columns} FROM chunks WHERE rowid IN ({marks})", [i for i, _ in found])}
        return [PassageHit(rowid, rows[rowid][1], rows[rowid][2], rows[rowid][3],
                           json.loads(rows[rowid][4]) if with_content else {}, score)
                for rowid, score in found if rowid in rows]

    def lexical_index(self) -> LexicalIndex | None:
        """The generation's tantivy index, opened once; None when it has none (FTS5 serves instead)."""
        if (self._lexical is None and self.lexical_path and not self._lexical_unreadable
                and (Path(self.lexical_path) / "meta.json").is_file()):
            with self._lexical_lock:
                if self._lexical is None and not self._lexical_unreadable:
                    try:
                        self._lexical = LexicalIndex.open(self.lexical_path)
                    except ValueError as exc:  # written by another tantivy index format: FTS5 still answers
                        logger.warning("The lexical index in %s cannot be read (%s); searching with FTS5 instead. "
                                       "Run `kb ingest` again to rebuild it.", self.lexical_path, exc)
                        self._lexical_unreadable = True
        return self._lexical

    def lexical_rows(self, source_ids: Iterable[str] | None = None) -> Iterator[LexicalRow]:
        """Passages as the lexical index takes them (all, or those of ``source_ids``), in row order, each with
        its source's publisher and authors."""
        source_ids = None if source_ids is None else list(source_ids)
        bylines = self._bylines(source_ids)
        if source_ids is None:
            rows = self._conn().execute("SELECT rowid, source_id, title, content FROM chunks ORDER BY rowid")
            for r in rows:
                yield LexicalRow(r[0], r[1] or "", r[2] or "", r[3] or "", bylines.get(r[1] or "", ""))
            return
        for source_id in source_ids:
            for r in self._conn().execute(
                    "SELECT rowid, source_id, title, content FROM chunks WHERE source_id = ? ORDER BY rowid",
                    (source_id,)):
                yield LexicalRow(r[0], r[1] or "", r[2] or "", r[3] or "", bylines.get(r[1] or "", ""))

    def _bylines(self, source_ids: Iterable[str] | None) -> dict[str, str]:
        """Each source's publisher and authors as one text (one read per source, not per passage)."""
        wanted = None if source_ids is None else set(source_ids)
        bylines = {}
        for source_id, publisher, authors in self._conn().execute(
                "SELECT id, publisher, json_extract(meta, '$.authors') FROM sources"):
            if wanted is not None and source_id not in wanted:
                continue
            try:
                names = [str(a) for a in json.loads(authors or "[]") if a]
            except (ValueError, TypeError):
                names = []
            text = " ".join([publisher or "", *names]).strip()
            if text:
                bylines[source_id] = text
        return bylines

    def save_lexical(self, path: str | Path) -> int:
        """Write the tantivy index of every passage to ``path`` and search it from now on.

        :returns: how many passages it holds.
        """
        count = LexicalIndex.build(path, self.lexical_rows())
        with self._lexical_lock:
            self.lexical_path, self._lexical = str(path), None
        return count

    def write_lexical(self, path: str | Path) -> int:
        """Write this build's lexical index: derived from its base's (:meth:`derive_from`) when it has
        one, so a small change costs little, else built from every passage."""
        base = self._base
        if base is None or base.lexical is None or not LexicalIndex.current(base.lexical):
            return self.save_lexical(path)  # none to start from, or one of an older layout
        added = [r[0] for r in self._conn().execute(
            "SELECT DISTINCT source_id FROM chunks WHERE rowid > ? AND source_id IS NOT NULL", (base.max_rowid,))]
        return self.derive_lexical(base.lexical, path, sorted(base.removed_sources), added)

    def derive_lexical(self, base_path: str | Path, path: str | Path, removed_source_ids: Iterable[str],
                       added_source_ids: Iterable[str]) -> int:
        """Write the lexical index at ``path`` from a published one (:meth:`LexicalIndex.derive`): the
        base's passages less ``removed_source_ids``'s, plus this store's passages of ``added_source_ids``
        (a changed source is in both), and search it from now on. Rowids must be the base's for kept passages.

        :returns: how many passages it holds.
        """
        count = LexicalIndex.derive(base_path, path, removed_source_ids, self.lexical_rows(added_source_ids))
        with self._lexical_lock:
            self.lexical_path, self._lexical = str(path), None
        return count

    def embedding_retrieval(
        self, query_embedding: Sequence[float], top_k: int = 10, filters: dict[str, Any] | None = None,
        with_content: bool = True,
    ) -> list[PassageHit]:
        """Passages nearest to a (normalised) query vector by inner product; filters apply before ranking
        (:meth:`FaissVectors.search`)."""
        return self.hits(self.vectors.search(query_embedding, top_k, filters), with_content)

    def sources_near(self, query_embedding: Sequence[float], floor: float) -> dict[str, tuple[int, float]]:
        """Every source with a passage at cosine ``floor`` or above, with its closest passage ``(rowid, cosine)``.

        The rows are mapped to their sources' spans and reduced to each source's best with numpy: a common topic
        at a million passages finds a hundred thousand rows or more (2.7 s a search as Python lists; bench_scale)."""
        rowids, scores = self.vectors.above(query_embedding, floor)
        if not len(rowids):
            return {}
        first, last, span_sources = self.vectors.span_arrays()
        at = np.searchsorted(first, rowids, side="right") - 1
        inside = (at >= 0) & (rowids <= last[np.clip(at, 0, None)]) if len(first) else np.zeros(len(rowids), bool)
        best: dict[str, tuple[int, float]] = {}
        if inside.any():
            spans, rows, values = at[inside], rowids[inside], scores[inside]
            order = np.lexsort((-values, spans))  # by span, best score first within each
            spans, rows, values = spans[order], rows[order], values[order]
            heads = np.flatnonzero(np.r_[True, spans[1:] != spans[:-1]])
            best = {span_sources[int(spans[i])]: (int(rows[i]), float(values[i])) for i in heads}
        if not inside.all():  # rows of sources whose passages are not consecutive: looked up
            sources = self.rowid_sources(rowids[~inside].tolist())
            for rowid, score in zip(rowids[~inside].tolist(), scores[~inside].tolist(), strict=True):
                source = sources.get(rowid)
                if source is not None and (source not in best or score > best[source][1]):
                    best[source] = (rowid, score)
        return best

    def rowid_sources(self, rowids: Sequence[int]) -> dict[int, str]:
        """The source of each passage row, from the sources' rowid ranges (no passage is read when each source's
        rows are consecutive, as a build writes them)."""
        starts, spans = self.vectors.source_spans()
        out: dict[int, str] = {}
        rest: list[int] = []
        for rowid in rowids:
            at = bisect.bisect_right(starts, rowid) - 1
            if at >= 0 and spans[at][0] <= rowid <= spans[at][1]:
                out[rowid] = spans[at][2]
            else:
                rest.append(rowid)
        for start in range(0, len(rest), 900):
            part = rest[start : start + 900]
            marks = ",".join("?" for _ in part)
            out.update(self._conn().execute(f"SELECT rowid, source_id FROM chunks WHERE rowid IN ({marks}) "
                                            "AND source_id IS NOT NULL", part).fetchall())
        return out

    def vector_index(self) -> faiss.Index:
        """The FAISS index of passage vectors (ids = passage rowids), loaded or built once."""
        return self.vectors.index()

    def save_vectors(self, path: str | Path) -> int:
        """Write the vector index to ``path``; returns its size (:meth:`FaissVectors.save`)."""
        return self.vectors.save(path)

    def vector_factory(self) -> str:
        """The FAISS factory string of the vector index this store searches (``Flat``, ``IVF4096,SQ8``)."""
        return self.vectors.factory()

    def source_rowid_ranges(self) -> dict[str, tuple[int, int] | None]:
        """Each source's first and last passage rowid (:meth:`FaissVectors.source_rowid_ranges`)."""
        return self.vectors.source_rowid_ranges()

    def passages_by_rowid(self, rowids: Iterable[int]) -> dict[int, PassageHit]:
        """Full passages (text and meta) by rowid; scores are 0."""
        ids = list(rowids)
        if not ids:
            return {}
        rows = self._conn().execute(
            f"SELECT rowid, id, source_id, content, meta FROM chunks WHERE rowid IN ({','.join('?' for _ in ids)})", ids
        )
        return {r[0]: PassageHit(r[0], r[1], r[2], r[3], json.loads(r[4]), 0.0) for r in rows}

    # A MATCH restricted by "rowid IN (...)" still evaluates the expression over every passage
    # that contains its terms; for a few rows, one lookup per rowid is several times faster.
    _PER_ROW_LIMIT = 64

    def _match_rows(self, select: str, match: str, ids: list[int], extra: Sequence[Any] = ()) -> list[tuple]:
        conn = self._conn()
        if len(ids) <= self._PER_ROW_LIMIT:
            sql = f"SELECT {select} FROM chunks_fts WHERE chunks_fts MATCH ? AND rowid = ?"
            rows: list[tuple] = []
            for rowid in ids:
                rows.extend(conn.execute(sql, [*extra, match, rowid]))
            return rows
        sql = f"SELECT {select} FROM chunks_fts WHERE chunks_fts MATCH ? AND rowid IN ({','.join('?' for _ in ids)})"
        return conn.execute(sql, [*extra, match, *ids]).fetchall()

    def matching_rowids(self, match: str, rowids: Iterable[int] | None = None, plan: MatchPlan | None = None
                        ) -> set[int]:
        """Rowids (among ``rowids`` if given) whose passage matches an FTS5 expression.

        Given ``plan`` (the same match) and ``rowids``, a generation with a lexical index checks them
        there, at a cost that follows the rows rather than how common the words are.
        """
        lexical = self.lexical_index() if plan is not None and rowids is not None else None
        if lexical is not None and plan is not None and rowids is not None:
            return lexical.matching(plan, list(rowids))
        if rowids is None:
            return {r[0] for r in self._conn().execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?",
                                                         (match,))}
        ids = list(rowids)
        return {r[0] for r in self._match_rows("rowid", match, ids)} if ids else set()

    def passage_texts(self, rowids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """``{rowid: (text, title)}`` of the given passages."""
        marks = ",".join("?" for _ in rowids)
        return {r[0]: (r[1] or "", r[2] or "") for r in self._conn().execute(
            f"SELECT rowid, content, title FROM chunks WHERE rowid IN ({marks})", list(rowids))}

    def near_rowids(self, query: ParsedQuery, rowids: Sequence[int],
                    texts: Mapping[int, tuple[str, str]] | None = None) -> set[int]:
        """Which of ``rowids`` hold all the query's content words close together (its proximity match).

        With a lexical index, checked on those passages' own text (:meth:`LexicalIndex.near`: ``texts`` where
        given, read for the others); otherwise by FTS5's NEAR, row by row.
        """
        match = query.proximity_match()
        if match is None or not rowids:
            return set()
        lexical = self.lexical_index()
        if lexical is None:
            return self.matching_rowids(match, rowids)
        known = dict(texts or {})
        missing = [rowid for rowid in rowids if rowid not in known]
        if missing:
            known.update(self.passage_texts(missing))
        return lexical.near(query.proximity_terms(), {r: known[r] for r in rowids if r in known},
                            query.proximity_gap())

    def sources_matching(self, match: str, among: Iterable[str] | None = None,
                         plan: MatchPlan | None = None) -> set[str]:
        """Ids of sources with at least one passage matching an FTS5 expression (or, with a lexical
        index, ``plan``, the same match: any of its words, as :meth:`ParsedQuery.exclusion_plan`).

        ``among`` limits the answer to those sources: with a lexical index only their passages are
        looked at, so the cost follows them rather than how common the words are in the corpus.
        """
        lexical = self.lexical_index()
        if lexical is not None and plan is not None and among is not None:
            return lexical.sources_matching(tuple(t for clause in plan.clauses for t in clause), set(among))
        rows = self._conn().execute(
            "SELECT DISTINCT c.source_id FROM chunks_fts f JOIN chunks c ON c.rowid = f.rowid WHERE chunks_fts MATCH ?",
            (match,),
        )
        found_ids = {r[0] for r in rows if r[0] is not None}
        return found_ids if among is None else found_ids & set(among)

    def shown(self, rowids: Iterable[int], source_ids: Iterable[str]) -> tuple[dict[int, PassageHit],
                                                                             dict[str, SourceRecord]]:
        """The passages and their sources' records a results page shows (two reads of the local file)."""
        return self.passages_by_rowid(rowids), self.get_sources(source_ids)

    def batch(self) -> StoreBatch:
        """Reads answered at once (:class:`~index.storage.batch.StoreBatch`): a local read costs no round trip."""
        return StoreBatch(self)

    def highlight_query(self, query: ParsedQuery, rowids: Iterable[int], open_mark: str, close_mark: str,
                        texts: Mapping[int, str] | None = None) -> dict[int, str]:
        """Passage text with marks around the tokens the query's words hit (its highlight match), for the rows.

        With a lexical index, marked on the rows' own text by the analyser the index and the "why" sentences
        use (:meth:`AnalysedTerms.highlight`, as PostgreSQL does), so the marks and the "why" sentences read the
        same tokens; FTS5's ``highlight()`` took a statement per row. Without one, FTS5's own marks.
        """
        ids = list(rowids)
        lexical = self.lexical_index()
        if lexical is None:
            return self.highlight(query.highlight_match(), ids, open_mark, close_mark)
        if texts is None or any(rowid not in texts for rowid in ids):
            texts = {rowid: content for rowid, (content, _) in self.passage_texts(ids).items()} if ids else {}
        return lexical.highlight(query, {r: texts[r] for r in ids if r in texts}, open_mark, close_mark)

    def highlight(self, match: str, rowids: Iterable[int], open_mark: str, close_mark: str) -> dict[int, str]:
        """Passage text with FTS5's own marks around the tokens ``match`` hits, for the given rows."""
        ids = list(rowids)
        if not ids:
            return {}
        rows = self._match_rows("rowid, highlight(chunks_fts, 0, ?, ?)", match, ids, extra=(open_mark, close_mark))
        return {r[0]: r[1] for r in rows}

    # -- vectors -----------------------------------------------------------------------------

    def derive_from(self, base: KBDocumentStore, base_vectors: str | Path | None,
                    base_lexical: str | Path | None = None) -> None:
        """Start this (new, empty) build as a copy of a published generation, to change only what changed.

        The base's SQLite file is copied whole (sequential I/O, seconds at a million passages, where
        writing each passage again took minutes); the caller then deletes the sources that went
        away or changed (:meth:`delete_sources`) and writes the new ones. :meth:`save_vectors` then
        edits a copy of the base's vector index instead of building one.
        """
        self._check_writable()
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(self.path + suffix).unlink(missing_ok=True)
        shutil.copyfile(base.path, self.path)
        max_rowid = self._conn().execute("SELECT coalesce(max(rowid), 0) FROM chunks").fetchone()[0]
        self._base = DerivedFrom(Path(base_vectors) if base_vectors else None, max_rowid, [], set(),
                           Path(base_lexical) if base_lexical else None)
        self.vectors.reset()

    @property
    def derived_from_base(self) -> bool:
        """Whether this build started as a copy of a published generation (:meth:`derive_from`)."""
        return self._base is not None

    def delete_sources(self, source_ids: Iterable[str]) -> int:
        """Delete sources with their passages; returns how many passages went."""
        self._check_writable()
        deleted = 0
        with self._conn() as conn:
            for source_id in source_ids:
                deleted += self._delete_passages(conn, source_id)
                conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))
                conn.execute("DELETE FROM source_signatures WHERE id = ?", (source_id,))
        self.vectors.reset()
        return deleted

    def delete_passages_of(self, source_id: str) -> int:
        """Delete one source's passages (it became a copy of another), keeping its record."""
        self._check_writable()
        with self._conn() as conn:
            deleted = self._delete_passages(conn, source_id)
        self.vectors.reset()
        return deleted

    def _delete_passages(self, conn: sqlite3.Connection, source_id: str) -> int:
        rowids = [r[0] for r in conn.execute("SELECT rowid FROM chunks WHERE source_id = ?", (source_id,))]
        self._delete_rows(conn, rowids)
        if self._base is not None and rowids:
            self._base.removed.extend(r for r in rowids if r <= self._base.max_rowid)
            self._base.removed_sources.add(source_id)
        return len(rowids)

    # -- sources' mean vectors (index/pages.py keeps them; workers read them, not every passage) ---

    def ensure_source_vectors(self) -> None:
        """Create the table of each source's mean passage vector, with triggers that drop a source's row
        whenever one of its passages is written, changed or deleted (a copied generation stays right)."""
        self._check_writable()
        with self._conn() as conn:
            conn.executescript(_SOURCE_VECTORS_SCHEMA)

    def sources_missing_vectors(self) -> list[str]:
        """Ids of sources with passages but no stored mean vector (from the index on chunks.source_id)."""
        return [r[0] for r in self._conn().execute(
            "SELECT DISTINCT source_id FROM chunks WHERE source_id IS NOT NULL "
            "AND source_id NOT IN (SELECT source_id FROM source_vectors)")]

    def embeddings_by_source(self, source_ids: Sequence[str]) -> dict[str, list[np.ndarray]]:
        """The passage vectors of the given sources, in passage order; sources without any are left out."""
        if not source_ids:
            return {}
        marks = ",".join("?" for _ in source_ids)
        out: dict[str, list[np.ndarray]] = {}
        rows = self._conn().execute(
            f"SELECT source_id, embedding FROM chunks WHERE source_id IN ({marks}) AND embedding IS NOT NULL "
            "ORDER BY source_id, rowid", list(source_ids))
        for source_id, blob in rows:
            out.setdefault(source_id, []).append(np.frombuffer(blob, dtype=np.float32))
        return out

    def write_source_vectors(self, rows: Iterable[tuple[str, int, np.ndarray]]) -> None:
        """Store ``(source id, passages, mean vector)`` rows."""
        self._check_writable()
        with self._conn() as conn:
            conn.executemany("INSERT OR REPLACE INTO source_vectors(source_id, passages, vector) VALUES (?, ?, ?)",
                             [(s, n, np.asarray(v, dtype=np.float32).tobytes()) for s, n, v in rows])

    def source_vectors(self) -> dict[str, np.ndarray]:
        """Every stored mean vector by source id ({} when the generation has no such table)."""
        conn = self._conn()
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'source_vectors'").fetchone():
            return {}
        rows = conn.execute("SELECT source_id, vector FROM source_vectors")
        return {s: np.frombuffer(b, dtype=np.float32) for s, b in rows}



_SOURCE_VECTORS_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_vectors (
    source_id TEXT PRIMARY KEY,
    passages INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS source_vectors_insert AFTER INSERT ON chunks
    BEGIN DELETE FROM source_vectors WHERE source_id = new.source_id; END;
CREATE TRIGGER IF NOT EXISTS source_vectors_delete AFTER DELETE ON chunks
    BEGIN DELETE FROM source_vectors WHERE source_id = old.source_id; END;
CREATE TRIGGER IF NOT EXISTS source_vectors_update AFTER UPDATE OF source_id, embedding ON chunks
    BEGIN DELETE FROM source_vectors WHERE source_id IN (old.source_id, new.source_id); END;
"""


def _vector_to_list(blob: bytes | None) -> list[float] | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32).tolist()


