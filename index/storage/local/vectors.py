"""The local backend's passage vectors: a FAISS index over the rows of a generation's SQLite store.

``faiss_factory = auto`` builds an exact index (``Flat``) below :data:`ANN_MIN_PASSAGES` passages and an
inverted file of 8-bit codes above it (:func:`choose_factory`), memory-mapped read-only so that workers
share its pages; ``nprobe`` lists are searched per query. A filter (facets narrow by source id, answered
from each source's rowid range) is applied inside FAISS through an ``IDSelectorBitmap``, with the probe
widened in proportion to the share the filter leaves, so a filtered search still returns ``top_k``; a
filter leaving at most :data:`EXACT_FILTER_LIMIT` passages is searched exactly over just those.

A build derived from a published generation (:class:`DerivedFrom`) edits a copy of that generation's
index (deleted rows removed, new rows added) instead of building one.

Usage::

    vectors = FaissVectors(store.connection, "gen/vectors.faiss", faiss_factory="auto", nprobe=128)
    vectors.search(query_vector, top_k=100)        # [(rowid, score), ...]
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.storage.filters import compile_filters

# Below this many passages an exact scan is fast enough (about 10 ms at 100k on one core) and
# exact; from here an IVF index scans some of its lists. How many (issue 28, benchmarks/bench_ann_real.py):
# on 18,026 real passages at a million's 244 passages per list, recall@10 against exact search is 0.60-0.66
# with 3% of the lists probed (the 128 of 4,096 first chosen on near-copy synthetic vectors, where it read
# 0.963), 0.92-0.96 with 25% and 0.96-0.99 with 50%; fewer, larger lists at the same share did worse. So
# 1,024 lists: a quarter of a million's 4,096, half of the 2,048 from 150,000 to about 400,000 passages.
ANN_MIN_PASSAGES = 150_000
DEFAULT_NPROBE = 1024
# A filter leaving at most this many passages is searched exactly over just those passages (their
# vectors read from SQLite); above it the IVF probe is widened instead, which costs 15-20 ms at a
# million passages whatever the filter (reading 9,000 vectors from SQLite took 30-90 ms).
EXACT_FILTER_LIMIT = 2_000


def choose_factory(requested: str, passages: int) -> str:
    """The FAISS factory string to build: ``requested``, or for ``auto`` one chosen by corpus size.

    ``IVF<lists>,SQ8``: about 4·√n lists (a power of two, at least 256) and one byte per dimension,
    so a million passages take 384 MB instead of 1.5 GB, memory-mapped and shared by workers.
    """
    if requested != "auto":
        return requested
    if passages < ANN_MIN_PASSAGES:
        return "Flat"
    lists = 1 << max(8, round(np.log2(4 * np.sqrt(passages))))
    return f"IVF{lists},SQ8"

@dataclass
class DerivedFrom:
    """The published generation a build was copied from: its vectors, its last rowid, what was deleted since."""

    vectors: Path | None
    max_rowid: int
    removed: list[int]
    removed_sources: set[str]
    lexical: Path | None = None


@dataclass(frozen=True)
class SpanTable:
    """The sources' consecutive rowid spans (:meth:`FaissVectors.source_spans`), as lists and as arrays."""

    ranges: dict[str, tuple[int, int] | None]
    starts: list[int]
    spans: list[tuple[int, int, str]]
    first: np.ndarray
    last: np.ndarray
    sources: list[str]


class FaissVectors:
    """The vector index of one store's passages (ids = passage rowids), loaded or built once.

    :param conn: the store's SQLite connection for this thread (vectors and rowids are read from it).
    :param vectors_path: a FAISS file written by :meth:`save`; without it the index is built in memory.
    :param faiss_factory: the factory string, or ``auto`` (:func:`choose_factory`).
    :param nprobe: inverted lists searched per query by an IVF index.
    :param base: the published generation a build was copied from, if any (read when the index is made).
    :param read_only: a published generation: what is read once (rowid ranges) is kept.
    :param where: the store's path, for messages.
    """

    def __init__(self, conn: Callable[[], sqlite3.Connection], vectors_path: str | None, faiss_factory: str,
                 nprobe: int, base: Callable[[], DerivedFrom | None], read_only: bool, where: str) -> None:
        self._conn = conn
        self.vectors_path = vectors_path
        self.faiss_factory = faiss_factory
        self.nprobe = nprobe
        self.base = base
        self.read_only = read_only
        self.where = where
        self._faiss: faiss.Index | None = None
        self._lock = threading.Lock()
        self._ivf_cache: tuple[faiss.Index, Any] | None = None
        self._source_rows: dict[str, tuple[int, int] | None] | None = None
        self._spans: SpanTable | None = None

    def reset(self) -> None:
        """Forget the index (rows were written or deleted): the next use builds or derives it again."""
        self._faiss = None

    def search(self, query_embedding: Sequence[float], top_k: int,
               filters: dict[str, Any] | None = None) -> list[tuple[int, float]]:
        """``(rowid, inner product)`` of the passages nearest to a (normalised) query vector, best first;
        filters apply before ranking.

        With an IVF index, a filter widens the probe in proportion to how much it leaves out, so a
        filtered search still finds ``top_k`` when that many match; a filter leaving few passages
        is searched exactly over those.
        """
        index = self.index()
        if index.ntotal == 0:
            return []
        query = np.asarray(query_embedding, dtype=np.float32).reshape(1, -1)
        allowed: np.ndarray | None = None
        if filters:
            allowed = self._allowed_rowids(filters)
            if not len(allowed):
                return []
        if allowed is not None and len(allowed) <= EXACT_FILTER_LIMIT and self._ivf_of(index) is not None:
            return self._exact_among(query[0], allowed, top_k)
        return self._search_index(index, query, top_k, allowed)

    def above(self, query_embedding: Sequence[float], floor: float) -> tuple[np.ndarray, np.ndarray]:
        """``(rowids, inner products)`` of every passage at ``floor`` or above (FAISS range search: an IVF index
        probes as a search does), in no order, as arrays: the whole set a meaning search finds, not its best
        ``top_k``. A common topic at a million passages is a hundred thousand rows or more, so they stay arrays."""
        index = self.index()
        if index.ntotal == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        query = np.asarray(query_embedding, dtype=np.float32).reshape(1, -1)
        ivf = self._ivf_of(index)
        params: Any = faiss.SearchParametersIVF() if ivf is not None else faiss.SearchParameters()
        if ivf is not None:
            params.nprobe = min(ivf.nlist, self.nprobe)
        # range_search keeps scores above the radius: a hair below the floor keeps a passage exactly at it.
        limits, scores, ids = index.range_search(query, float(floor) - 1e-6, params=params)
        ids, scores = ids[limits[0]:limits[1]], scores[limits[0]:limits[1]]
        kept = scores >= floor
        return ids[kept].astype(np.int64), scores[kept]

    def _search_index(self, index: faiss.Index, query: np.ndarray, top_k: int,
                      allowed: np.ndarray | None) -> list[tuple[int, float]]:
        ivf = self._ivf_of(index)
        selector = None
        if allowed is not None:
            bitmap = np.zeros((int(allowed.max()) + 8) // 8 * 8, dtype=bool)
            bitmap[allowed] = True
            packed = np.packbits(bitmap, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(packed), faiss.swig_ptr(packed))
        if ivf is not None:
            share = 1.0 if allowed is None else len(allowed) / max(1, index.ntotal)
            params: Any = faiss.SearchParametersIVF()
            params.nprobe = min(ivf.nlist, max(1, int(np.ceil(self.nprobe / share))))
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        scores, ids = index.search(query, min(top_k, index.ntotal), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _ivf_of(self, index: faiss.Index) -> Any:
        # Finding the IVF inside an index costs milliseconds on a memory-mapped one: once per index.
        cached = self._ivf_cache
        if cached is None or cached[0] is not index:
            cached = self._ivf_cache = (index, _ivf(index))
        return cached[1]

    def _exact_among(self, query: np.ndarray, allowed: np.ndarray, top_k: int) -> list[tuple[int, float]]:
        rowids: list[int] = []
        vectors: list[np.ndarray] = []
        conn = self._conn()
        for start in range(0, len(allowed), 900):
            part = [int(r) for r in allowed[start : start + 900]]
            marks = ",".join("?" for _ in part)
            for rowid, blob in conn.execute(
                    f"SELECT rowid, embedding FROM chunks WHERE rowid IN ({marks}) AND embedding IS NOT NULL", part):
                rowids.append(rowid)
                vectors.append(np.frombuffer(blob, dtype=np.float32))
        if not rowids:
            return []
        scores = np.vstack(vectors) @ query
        best = np.argsort(-scores)[:top_k]
        return [(rowids[i], float(scores[i])) for i in best]

    def _allowed_rowids(self, filters: dict[str, Any]) -> np.ndarray:
        """Rowids of the passages a filter keeps.

        A filter that is only "source id in [...]" (how facets narrow a search) is answered from
        each source's rowid range, without scanning passages.
        """
        sources = _source_ids_only(filters)
        if sources is None:
            where, args = compile_filters(filters)
            rows = self._conn().execute(f"SELECT c.rowid FROM chunks c WHERE {where}", args)
            return np.fromiter((r[0] for r in rows), dtype=np.int64)
        ranges = self.source_rowid_ranges()
        parts: list[np.ndarray] = []
        for source_id in sources:
            span = ranges.get(source_id)
            if span is not None:
                parts.append(np.arange(span[0], span[1] + 1, dtype=np.int64))
            elif source_id in ranges:  # not consecutive: list its rows
                rows = self._conn().execute("SELECT rowid FROM chunks WHERE source_id = ?", (source_id,))
                parts.append(np.fromiter((r[0] for r in rows), dtype=np.int64))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def source_spans(self) -> tuple[list[int], list[tuple[int, int, str]]]:
        """The consecutive sources' ``(first, last, source)`` rowid spans sorted by first rowid, and those firsts
        (for bisecting a rowid to its source); made once per set of ranges."""
        spans = self._span_table()
        return spans.starts, spans.spans

    def span_arrays(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """:meth:`source_spans` as arrays for mapping many rowids at once: firsts, lasts, and the sources in order."""
        spans = self._span_table()
        return spans.first, spans.last, spans.sources

    def _span_table(self) -> SpanTable:
        ranges = self.source_rowid_ranges()
        cached = self._spans
        if cached is None or cached.ranges is not ranges:
            spans = sorted((span[0], span[1], source) for source, span in ranges.items() if span is not None)
            cached = self._spans = SpanTable(ranges, [start for start, _, _ in spans], spans,
                                             np.array([a for a, _, _ in spans], dtype=np.int64),
                                             np.array([b for _, b, _ in spans], dtype=np.int64),
                                             [source for _, _, source in spans])
        return cached

    def source_rowid_ranges(self) -> dict[str, tuple[int, int] | None]:
        """Each source's first and last passage rowid, or None when its passages are not consecutive.

        A source's passages are written in one call, so they are consecutive unless rows were
        deleted and written again; read through the ``chunks_source`` index, once per store.
        """
        if self._source_rows is not None:
            return self._source_rows
        rows = self._conn().execute(
            "SELECT source_id, min(rowid), max(rowid), count(*) FROM chunks WHERE source_id IS NOT NULL "
            "GROUP BY source_id")
        ranges: dict[str, tuple[int, int] | None] = {
            r[0]: (r[1], r[2]) if r[2] - r[1] + 1 == r[3] else None for r in rows}
        if self.read_only:
            self._source_rows = ranges
        return ranges

    def index(self) -> faiss.Index:
        """The FAISS index of passage vectors (ids = passage rowids), loaded or built once."""
        if self._faiss is None:
            with self._lock:
                if self._faiss is None:
                    self._faiss = self._load_or_build_index()
        return self._faiss

    def _load_or_build_index(self) -> faiss.Index:
        if self.vectors_path and Path(self.vectors_path).exists():
            try:
                index = faiss.read_index(self.vectors_path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
            except RuntimeError:
                index = faiss.read_index(self.vectors_path)
        else:
            index = self._fresh_index()
        ivf = _ivf(index)
        if ivf is not None:
            ivf.nprobe = self.nprobe
        return index

    def _fresh_index(self) -> faiss.Index:
        """The vector index of what this (writable) store holds now: derived from its base's, or built."""
        base = self.base()
        if base is None or base.vectors is None or not base.vectors.exists():
            return self._build_index()
        index = faiss.read_index(str(base.vectors))
        ids, matrix = self._vectors("rowid > ?", (base.max_rowid,))
        total = index.ntotal - len(set(base.removed)) + len(ids)
        if (_ivf(index) is None) != (choose_factory(self.faiss_factory, total) == "Flat"):
            return self._build_index()  # grown past (or shrunk below) the exact/approximate threshold
        if base.removed:
            index.remove_ids(faiss.IDSelectorBatch(np.asarray(sorted(set(base.removed)), dtype=np.int64)))
        if len(ids):
            index.add_with_ids(matrix, ids)
        return index

    def _vectors(self, where: str = "1", args: Sequence[Any] = ()) -> tuple[np.ndarray, np.ndarray]:
        rows = self._conn().execute(
            f"SELECT rowid, embedding FROM chunks WHERE embedding IS NOT NULL AND {where} ORDER BY rowid", args)
        ids: list[int] = []
        vectors: list[np.ndarray] = []
        for rowid, blob in rows:
            ids.append(rowid)
            vectors.append(np.frombuffer(blob, dtype=np.float32))
        if any(len(v) != len(vectors[0]) for v in vectors):
            raise ValueError(f"Stored embeddings in {self.where} do not all have the same dimension.")
        matrix = np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
        return np.asarray(ids, dtype=np.int64), matrix

    def _build_index(self) -> faiss.Index:
        ids, matrix = self._vectors()
        dim = matrix.shape[1] if len(ids) else 1
        factory = choose_factory(self.faiss_factory, len(ids))
        inner = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        if not inner.is_trained:
            inner.train(_training_sample(matrix, inner))
        index = inner if _ivf(inner) is not None else faiss.IndexIDMap2(inner)
        if len(ids):
            index.add_with_ids(matrix, ids)
        return index

    def save(self, path: str | Path) -> int:
        """Write the vector index to ``path``; returns its size.

        Built from the stored embeddings, or, for a build derived from a published generation, the
        base's index with the deleted passages removed and the new ones added.
        """
        index = self.index()
        faiss.write_index(index, str(path))
        return index.ntotal

    def factory(self) -> str:
        """The FAISS factory string of the vector index this store searches (``Flat``, ``IVF4096,SQ8``)."""
        index = self.index()
        ivf = _ivf(index)
        if ivf is None:
            return "Flat"
        quantizer = "SQ8" if isinstance(faiss.downcast_index(ivf), faiss.IndexIVFScalarQuantizer) else "Flat"
        return f"IVF{ivf.nlist},{quantizer}"


def _ivf(index: faiss.Index) -> Any:
    """The inverted-file index inside ``index``, or None for an exact one."""
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def _training_sample(matrix: np.ndarray, index: faiss.Index) -> np.ndarray:
    # k-means needs some tens of points per list; more only slows training.
    ivf = _ivf(index)
    limit = 64 * ivf.nlist if ivf is not None else len(matrix)
    if len(matrix) <= limit:
        return matrix
    rng = np.random.default_rng(0)
    return matrix[np.sort(rng.choice(len(matrix), limit, replace=False))]


def _source_ids_only(filters: dict[str, Any]) -> list[str] | None:
    """The ids of a filter that is only ``meta.source_id in [...]`` (or ``==``), else None."""
    if filters.get("field") == "meta.source_id":
        if filters.get("operator") == "in" and isinstance(filters.get("value"), list):
            return [str(v) for v in filters["value"]]
        if filters.get("operator") == "==":
            return [str(filters.get("value"))]
    return None
