"""What a storage backend is: the read interface every reader uses, and how generations come and go.

Two backends implement it: :mod:`index.storage.local` (a data directory: SQLite with FTS5, FAISS,
tantivy) and :mod:`index.storage.postgres` (a schema per generation, pgvector, BM25 in SQL). The
searcher, browse pages, the quality gate, ``kb eval``, ``kb status`` and the web app see only the
names below, so a third backend implements

- a :class:`GenerationBackend` (lock, begin, publish, abandon, current_id, live_stamp, open,
  published, rollback, prune, run reports), whose ``open`` returns a :class:`Generation`;
- that generation's :class:`PassageStore` (sources, passages, vectors, retrieval), whose
  ``lexical_index()`` is a :class:`LexicalEngine` (BM25 with the analyser of
  :mod:`index.storage.analysis`) and whose ``batch()`` is a :class:`ReadBatch` (a store whose reads cost no
  round trip returns :class:`index.storage.batch.StoreBatch`; PostgreSQL pipelines them);
- and registers itself in :func:`index.storage.generations` (the factory).

Building is always local (a build is a local store, copied into a shared backend when published):
:class:`Build` carries a :class:`BuildStore`.

Usage::

    from index.storage import generations, open_generation
    generation = open_generation(settings)
    generation.store.embedding_retrieval(vector, top_k=10)
"""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import sqlite3
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
from haystack import Document

from index.errors import IndexIncompatibleError, IndexNotFoundError
from index.records import FacetRow, RunRecord, SourceRecord
from index.search.query import MatchPlan, ParsedQuery, Term
from index.settings import Settings

logger = logging.getLogger(__name__)

# 2: a generation also holds its lexical index and what its pages need, computed at build time.
# Format 1 is still read (lexical search and pages fall back to SQLite and to computing them).
# A source's first_indexed date (alert feeds) is in its meta JSON, not a column: generations of
# format 2 written before it was kept simply lack it (readers use the generation's build date).
SCHEMA_VERSION = 2
OLDEST_READABLE_VERSION = 1

T = TypeVar("T")


@dataclass(frozen=True)
class ThreadElement:
    """A thread element a passage holds (one post of a Storify thread): who posted it, when, its link, and where it
    lies in the source's text (-1 where the meta does not say)."""

    author: str | None = None
    date: str | None = None
    url: str | None = None
    start: int = -1
    end: int = -1

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ThreadElement:
        return cls(data.get("author"), data.get("date"), data.get("url"), int(data.get("start", -1)),
                   int(data.get("end", -1)))


@dataclass(frozen=True)
class PassageMeta:
    """A typed view of a passage's stored meta, as ``ingest/split.py`` writes it (the stored JSON is unchanged):
    its place among its source's passages, its character span in the source's text, its pages (with where each
    page after the first begins inside it), and the thread elements it holds."""

    ordinal: int = 0
    start: int = 0
    end: int | None = None
    page: int | None = None
    page_end: int | None = None
    page_offsets: tuple[tuple[int, int], ...] = ()  # (page, offset inside the passage where that page begins)
    citation: ThreadElement | None = None  # the first thread element
    citations: tuple[ThreadElement, ...] = ()

    @classmethod
    def of(cls, meta: Mapping[str, Any]) -> PassageMeta:
        return cls(ordinal=int(meta.get("ordinal", 0)), start=int(meta.get("start", 0)),
                   end=int(meta["end"]) if meta.get("end") is not None else None,
                   page=meta.get("page"), page_end=meta.get("page_end"),
                   page_offsets=tuple((int(page), int(at)) for page, at in meta.get("page_offsets") or ()),
                   citation=ThreadElement.of(meta["citation"]) if meta.get("citation") else None,
                   citations=tuple(ThreadElement.of(c) for c in meta.get("citations") or ()))

    def page_at(self, offset: int) -> int | None:
        """The page of a character of the passage (``offset`` from its start): its first page, or the last page
        begun at or before it."""
        page = self.page
        for number, begins in self.page_offsets:
            if begins <= offset:
                page = number
        return page


@dataclass(frozen=True)
class PassageHit:
    """A passage found by a retriever: its row, its source and its retriever score. ``meta`` is the passage's
    stored meta; :attr:`where` reads it typed."""

    rowid: int
    id: str
    source_id: str | None
    content: str
    meta: dict[str, Any]
    score: float

    @functools.cached_property
    def where(self) -> PassageMeta:
        """Where the passage lies in its source, and the thread elements it holds (:class:`PassageMeta`)."""
        return PassageMeta.of(self.meta)


@dataclass(frozen=True)
class LexicalRow:
    """One passage as a lexical index takes it: ``rowid`` is the passage's row in the store."""

    rowid: int
    source_id: str
    title: str
    content: str
    byline: str = ""  # the source's publisher and authors


class Pending(Generic[T]):
    """An answer a :class:`ReadBatch` gives: ready once the batch has ended (at once where the store answers at
    once). Asked earlier, a batch that sends its reads together must first wait for them."""

    def __init__(self, answer: Callable[[], T]) -> None:
        self._answer: Callable[[], T] | None = answer
        self._value: T | None = None

    @staticmethod
    def ready(value: T) -> Pending[T]:
        return Pending(lambda: value)

    def result(self) -> T:
        if self._answer is not None:
            self._value, self._answer = self._answer(), None
        return self._value  # type: ignore[return-value]


@dataclass(frozen=True)
class Candidates:
    """What a retriever found for the ranking: its passages (without text), for the lexical retriever the relaxed
    matches that fill up to ``top_k`` after the strict ones, and the texts ``{rowid: (text, title)}`` a store read
    with them when asked (the proximity check's; a store that reads them cheaply later may leave them out). The
    dense retriever's answer carries ``near`` when asked for it: every source with a passage at the floor or above
    (:meth:`PassageStore.sources_near`), read in the same scan of the vectors where the store can."""

    hits: list[PassageHit]
    relaxed: list[PassageHit] = field(default_factory=list)
    texts: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    near: dict[str, tuple[int, float]] = field(default_factory=dict)


class ReadBatch(Protocol):
    """The reads of one step of a search, asked together (:meth:`PassageStore.batch`). Each returns a
    :class:`Pending`, answered by the end of the ``with`` block that opened the batch.

    PostgreSQL sends them in one pipeline, a round trip (a second where a read needs the answer of another,
    as the lexical searches need their words' statistics); the local store answers each at once, the lexical
    candidates in a worker thread (they overlap with what the caller does next, the query's embedding).
    """

    def lexical_candidates(self, query: ParsedQuery, top_k: int, filters: dict[str, Any] | None,
                           title_weight: float | None, terms: Sequence[Term] = (),
                           texts: bool = False) -> Pending[Candidates]:
        """:class:`~index.search.retrievers.LexicalRetriever`'s answer for ``query`` (strict matches, then relaxed
        ones up to ``top_k``), without the passages' text; ``terms``: words whose statistics the search will
        need besides its own (:meth:`LexicalEngine.prepare`); ``texts``: the passages' text and title too."""

    def dense_candidates(self, query_embedding: Sequence[float], top_k: int, filters: dict[str, Any] | None,
                         texts: bool = False, floor: float | None = None) -> Pending[Candidates]:
        """:meth:`PassageStore.embedding_retrieval` without the passages' text (``texts``: their text and title),
        and with a ``floor``, :meth:`PassageStore.sources_near` (``Candidates.near``)."""

    def source_counts(self, terms: Sequence[Term]) -> Pending[list[dict[str, int]]]:
        """:meth:`LexicalEngine.source_counts`."""

    def passages_matching(self, plan: MatchPlan, top_k: int, source_ids: Collection[str],
                          title_weight: float | None) -> Pending[list[PassageHit]]:
        """The ``top_k`` passages of ``source_ids`` best matching ``plan`` (:meth:`LexicalEngine.search`), with
        their text and meta, best first."""

    def hits(self, found: list[tuple[int, float]], with_content: bool) -> Pending[list[PassageHit]]:
        """:meth:`PassageStore.hits`."""

    def shown(self, rowids: Iterable[int], source_ids: Iterable[str]) -> Pending[tuple[dict[int, PassageHit],
                                                                                       dict[str, SourceRecord]]]:
        """:meth:`PassageStore.shown`."""


class LexicalEngine(Protocol):
    """A generation's BM25 index over passages (tantivy locally, postings tables in PostgreSQL).

    Both analyse text with :func:`index.storage.analysis.analyzer`, so stems and scores agree.
    """

    has_byline: bool

    def __len__(self) -> int:
        """How many passages it holds."""

    def search(self, plan: MatchPlan, top_k: int, source_ids: Collection[str] | None = None,
               exclude_rowids: Collection[int] = (), title_weight: float | None = None,
               rowids: Collection[int] | None = None) -> list[tuple[int, float]]:
        """The ``top_k`` best passages matching ``plan`` as ``(rowid, bm25)``, best first."""

    def prepare(self, plans: Sequence[MatchPlan], terms: Sequence[Term], title_weight: float | None = None) -> None:
        """Read at once what the searches of ``plans`` and the word counts of ``terms`` will need (an engine
        whose statistics are local has nothing to do)."""

    def matching(self, plan: MatchPlan, rowids: Collection[int]) -> set[int]:
        """Which of ``rowids`` hold the plan word for word (required phrases)."""

    def sources_matching(self, words: tuple[Term, ...], among: Collection[str]) -> set[str]:
        """Which of the sources ``among`` have a passage holding any of ``words`` (exclusions)."""

    def source_counts(self, terms: Sequence[Term]) -> list[dict[str, int]]:
        """For each word or phrase, every source holding it (a phrase word for word) in a passage's text, title or
        byline, and how many of its passages do: over the whole index (issue 23: whole result sets)."""

    def document_frequencies(self, terms: Sequence[Term]) -> list[int]:
        """How many passages hold each word (a phrase: its rarest adjacent pair)."""

    def word_document_counts(self, terms: Sequence[Term]) -> dict[Term, int]:
        """How many passages hold every token of each word or phrase, in text, title or byline."""

    def analyze(self, term: Term) -> list[str]:
        """A word's or phrase's tokens as the index holds them."""

    def analyze_text(self, text: str) -> list[str]:
        """A text's tokens as the index holds them."""

    def near(self, terms: Sequence[Term], texts: Mapping[int, Sequence[str]], gap: int) -> set[int]:
        """Which rows hold every term within ``gap`` other tokens, in one of their texts."""


class PassageStore(Protocol):
    """One published generation's sources and passages, for reading: what every reader may call."""

    path: str
    read_only: bool

    def close(self) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...

    # passages (Haystack's DocumentStore protocol, read side)
    def count_documents(self) -> int: ...
    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]: ...
    def source_documents(self, source_id: str) -> list[Document]: ...
    def source_passages(self, source_id: str) -> list[PassageHit]: ...
    def passages_by_rowid(self, rowids: Iterable[int]) -> dict[int, PassageHit]: ...
    def passage_texts(self, rowids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """``{rowid: (text, title)}`` of the given passages."""
    def sources_near(self, query_embedding: Sequence[float], floor: float) -> dict[str, tuple[int, float]]:
        """Every source with a passage at cosine ``floor`` or above, and its closest passage ``(rowid, cosine)``."""

    def hits(self, found: list[tuple[int, float]], with_content: bool) -> list[PassageHit]:
        """``(rowid, score)`` pairs as passages, in the same order (rows no longer there are left out)."""

    def filtered_rowids(self, filters: dict[str, Any]) -> list[int]:
        """Rowids of the passages a (non-source) filter keeps."""

    # sources
    def count_sources(self) -> int: ...
    def get_source(self, source_id: str) -> SourceRecord | None: ...
    def get_sources(self, source_ids: Iterable[str]) -> dict[str, SourceRecord]: ...
    def all_sources(self) -> Iterator[SourceRecord]: ...
    def signatures(self) -> dict[str, bytes]: ...
    def titles_containing(self, text: str, limit: int) -> list[tuple[str, str]]: ...
    def facet_rows(self) -> list[FacetRow]: ...
    def source_ids(self) -> list[str]: ...
    def source_hashes(self) -> dict[str, str]: ...

    # vectors
    def passage_vectors(self) -> Iterator[tuple[str, np.ndarray]]: ...
    def embeddings_by_source(self, source_ids: Sequence[str]) -> dict[str, list[np.ndarray]]: ...
    def source_vectors(self) -> dict[str, np.ndarray]: ...
    def vector_factory(self) -> str: ...
    def embedding_retrieval(self, query_embedding: Sequence[float], top_k: int = 10,
                            filters: dict[str, Any] | None = None, with_content: bool = True) -> list[PassageHit]: ...

    # words
    def lexical_index(self) -> LexicalEngine | None:
        """The generation's lexical engine; None for an older local generation (FTS5 answers instead)."""

    def fts_retrieval(self, query: ParsedQuery, relaxed: bool, top_k: int, filters: dict[str, Any] | None,
                      exclude_rowids: Iterable[int], with_content: bool,
                      title_weight: float | None) -> list[PassageHit]:
        """Lexical retrieval without a lexical engine (older local generations); [] where there is none."""

    def matching_rowids(self, match: str, rowids: Iterable[int] | None = None,
                        plan: MatchPlan | None = None) -> set[int]: ...
    def sources_matching(self, match: str, among: Iterable[str] | None = None,
                         plan: MatchPlan | None = None) -> set[str]: ...
    def near_rowids(self, query: ParsedQuery, rowids: Sequence[int],
                    texts: Mapping[int, tuple[str, str]] | None = None) -> set[int]:
        """Which of ``rowids`` hold the query's content words close together (on their text: ``texts`` where the
        caller has it, :meth:`passage_texts` for the others)."""
    def highlight_query(self, query: ParsedQuery, rowids: Iterable[int], open_mark: str, close_mark: str,
                        texts: Mapping[int, str] | None = None) -> dict[int, str]:
        """The passages' text with marks around the query's words; ``texts``: their text when the caller has it."""

    def shown(self, rowids: Iterable[int], source_ids: Iterable[str]) -> tuple[dict[int, PassageHit],
                                                                             dict[str, SourceRecord]]:
        """What a results page shows, read together: the passages (:meth:`passages_by_rowid`) and their sources'
        records without text (:meth:`get_sources`)."""

    def batch(self) -> AbstractContextManager[ReadBatch]:
        """Reads asked together (:class:`ReadBatch`); a store that answers at once returns
        :class:`index.storage.batch.StoreBatch`."""


class BuildStore(PassageStore, Protocol):
    """A generation being written (always a local store): what the build (``ingest/build.py``) and the pages
    computed at build time (:mod:`index.browse.pages`) call besides reading."""

    faiss_factory: str

    @property
    def derived_from_base(self) -> bool: ...
    def connection(self) -> sqlite3.Connection: ...
    def lexical_rows(self, source_ids: Iterable[str] | None = None) -> Iterator[LexicalRow]: ...
    def vector_index(self) -> Any: ...
    def write_documents(self, documents: list[Document], policy: Any = ...) -> int: ...
    def write_source(self, record: SourceRecord) -> None: ...
    def write_signatures(self, signatures: dict[str, bytes]) -> None: ...
    def delete_sources(self, source_ids: Iterable[str]) -> int: ...
    def delete_passages_of(self, source_id: str) -> int: ...
    def derive_from(self, base: Any, base_vectors: str | Path | None,
                    base_lexical: str | Path | None = None) -> None: ...
    def write_lexical(self, path: str | Path) -> int: ...
    def save_lexical(self, path: str | Path) -> int: ...
    def save_vectors(self, path: str | Path) -> int: ...
    def finalise(self) -> None: ...
    def ensure_source_vectors(self) -> None: ...
    def sources_missing_vectors(self) -> list[str]: ...
    def write_source_vectors(self, rows: Iterable[tuple[str, int, np.ndarray]]) -> None: ...


@dataclass(frozen=True)
class Manifest:
    """What a generation holds and how it was built; readers refuse one that does not fit their settings."""

    generation: str
    model_id: str
    embedding_dim: int
    chunking: dict[str, int]
    faiss_factory: str
    sources: int
    passages: int
    source_hashes: dict[str, str] = field(default_factory=dict)
    created: str = ""
    format_version: int = SCHEMA_VERSION
    projects_hash: str = ""
    # The ONNX graph the server embeds queries with: a folder name under the data directory's cache/onnx/
    # (index.embedding.encoders.export_query_graph); "" for generations built before it was exported.
    query_graph: str = ""

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def age_seconds(self) -> float:
        """Seconds since the generation was built."""
        return (datetime.now(UTC) - datetime.fromisoformat(self.created)).total_seconds()


@dataclass
class Build:
    """A generation being written: a private local directory no reader looks at until it is published."""

    id: str
    path: Path
    store: BuildStore


@dataclass(frozen=True)
class Generation:
    """A published generation opened for reading.

    ``path`` is its directory for the local backend; a generation in a shared database has none
    (``local`` is False) and its small files (projects, councils, pages, vocabulary, boilerplate)
    are read through ``files``. Read them with :meth:`read_file`, never from ``path`` directly.
    """

    id: str
    path: Path
    manifest: Manifest
    store: PassageStore
    files: Callable[[str], bytes | None] | None = None

    @property
    def local(self) -> bool:
        """Whether the generation is a directory of local files (its vectors and lexical index among them)."""
        return self.files is None

    def read_file(self, name: str) -> bytes | None:
        """One of the generation's small files (``projects.json``, ``pages.json``, ...), or None if it has none."""
        if self.files is not None:
            return self.files(name)
        try:
            return (self.path / name).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def read_text(self, name: str) -> str | None:
        data = self.read_file(name)
        return None if data is None else data.decode("utf-8")


class GenerationBackend(Protocol):
    """Where generations live: how they are built, published, noticed and rolled back."""

    def lock(self) -> AbstractContextManager[None]:
        """Hold the one-writer-at-a-time lock; raise :class:`LockHeldError` at once if another writer has it."""

    def begin(self, faiss_factory: str = "auto") -> Build:
        """Start a new generation no reader sees; leftovers of crashed runs are cleaned up first."""

    def publish(self, build: Build, manifest: Manifest, keep: int) -> None:
        """Make ``build`` the live generation atomically, then prune beyond ``keep``."""

    def abandon(self, build: Build) -> None:
        """Throw a build away."""

    def current_id(self) -> str | None:
        """The live generation's id, or None before the first publish."""

    def live_stamp(self) -> Hashable | None:
        """A cheap value that changes whenever another generation becomes live (readers poll it)."""

    def open(self, settings: Settings, gen_id: str | None = None) -> Generation:
        """The live generation (or ``gen_id``) for reading."""

    def published(self) -> list[str]:
        """Ids of published generations, oldest first."""

    def local_copy(self, generation: Generation) -> Generation | None:
        """``generation`` as local files a build may start from (:meth:`BuildStore.derive_from`): itself where it
        is local, a writer's copy of it, or None where there is none."""

    def rollback(self, to: str | None = None) -> str:
        """Make an older generation live; returns its id."""

    def prune(self, keep: int) -> list[str]:
        """Delete the oldest generations beyond ``keep``, never the live one."""

    def write_run_report(self, run_id: str, report: dict[str, Any]) -> Any:
        """Keep what a run did."""

    def last_run(self) -> RunRecord | None:
        """The newest run report, read into its record."""

    def shared_connection(self) -> AbstractContextManager[Any] | None:
        """A connection to the database every replica shares, its catalogue ready (for counts all replicas
        keep together, such as ``/gaps``), or None where the backend is one machine's files."""


def fault_point(name: str) -> None:
    """Die here, as if killed, when ``KB_FAULT`` names this point: tests use it to make kill -9 deterministic.

    Points: ``after-begin``, ``before-publish``, ``after-rename``, ``after-current``.
    """
    if os.environ.get("KB_FAULT") == name:
        os._exit(137)


def new_generation_id() -> str:
    """A new generation's id, sortable to the microsecond: pruning and rollback rely on name order being age order."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S-%f") + "-" + secrets.token_hex(2)


def rollback_target(published: list[str], current: str | None, to: str | None, where: str) -> str:
    """The generation a rollback makes live: ``to``, or the newest older than ``current`` (ids sort by age).

    :raises IndexNotFoundError: when there is no such generation in ``published``.
    """
    if to is None:
        older = [g for g in published if current is None or g < current]
        if not older:
            raise IndexNotFoundError(f"There is no generation older than {current} in {where} to roll back to.")
        return older[-1]
    if to not in published:
        raise IndexNotFoundError(f"Generation {to} is not in {where}; `kb stats` lists the published ones.")
    return to


def beyond_keep(published: list[str], current: str | None, keep: int) -> list[str]:
    """The oldest generations beyond ``keep`` (oldest first), never the live one: what pruning deletes."""
    return [g for g in published[: max(0, len(published) - keep)] if g != current]


def check_compatible(manifest: Manifest, settings: Settings) -> None:
    """:raises IndexIncompatibleError: when the generation's model, dimension or format differs from the settings.

    A generation of an older format this version still reads is served (with a warning: some of
    what later formats precompute is computed on the fly) until the next build replaces it.
    """
    found = manifest.format_version
    if found > SCHEMA_VERSION:
        raise IndexIncompatibleError(
            f"Generation {manifest.generation} was built by a newer version of innovation-kb (store format {found}; "
            f"this version reads formats {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}). Upgrade innovation-kb, or "
            "roll back to an older generation with `kb rollback`."
        )
    if found < OLDEST_READABLE_VERSION:
        raise IndexIncompatibleError(
            f"Generation {manifest.generation} has store format {found}, which this version no longer reads "
            f"(it reads {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}). Rebuild it with `kb ingest` (or "
            "`kb reindex`, which rebuilds in full)."
        )
    if found < SCHEMA_VERSION:
        _warn_old_format(manifest.generation, found)
    if manifest.model_id != settings.model_id or manifest.embedding_dim != settings.embedding_dim:
        raise IndexIncompatibleError(
            f"Generation {manifest.generation} was built with {manifest.model_id} ({manifest.embedding_dim}-d) but the "
            f"settings say {settings.model_id} ({settings.embedding_dim}-d). Re-run `kb ingest`, or change the "
            "settings back."
        )


@functools.lru_cache(maxsize=16)
def _warn_old_format(generation: str, found: int) -> None:
    logger.warning("Generation %s has store format %d (this version writes %d): it is served, more slowly, until "
                   "the next `kb reindex` or `kb ingest` rebuilds it in full.", generation, found, SCHEMA_VERSION)
