"""The data directory: immutable index generations, an atomically replaced CURRENT, a writer lock.

Layout (see docs/architecture.md)::

    <data dir>/generations/<id>/{chunks.sqlite, vectors.faiss, manifest.json}
    <data dir>/CURRENT          id of the live generation (written to a temp file, then renamed)
    <data dir>/cache/           embedding cache
    <data dir>/runs/<id>.json   what each run did
    <data dir>/lock             one writer at a time (flock)

Everything that creates, publishes, locks, notices and rolls back generations goes through the
:class:`GenerationBackend` interface; :class:`DataDir` (local files) implements it, and
:func:`generations` picks the backend for the settings, so a second backend (a shared database)
is one more class, not changes across the code.

Usage::

    backend = generations(settings)
    with backend.lock():
        build = backend.begin()
        ...  # write build.store
        backend.publish(build, manifest, keep=3)
    generation = open_generation(settings)
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from index.errors import IndexIncompatibleError, IndexNotFoundError, LockHeldError
from index.pg_store import PgDocumentStore
from index.settings import Settings
from index.store import OLDEST_READABLE_VERSION, SCHEMA_VERSION, KBDocumentStore

logger = logging.getLogger(__name__)

CHUNKS_FILE = "chunks.sqlite"
VECTORS_FILE = "vectors.faiss"
# The tantivy index of passages (index/lexical.py); generations without it search with FTS5.
LEXICAL_DIR = "lexical"
MANIFEST_FILE = "manifest.json"
PROJECTS_FILE = "projects.json"
COUNCILS_FILE = "councils.json"
# What the browse and search pages need from all sources, computed when the generation is built (index/pages.py).
PAGES_FILE = "pages.json"
SOURCE_VECTORS_FILE = "source_vectors.npy"


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

    @classmethod
    def read(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def age_seconds(self) -> float:
        """Seconds since the generation was built."""
        return (datetime.now(UTC) - datetime.fromisoformat(self.created)).total_seconds()


@dataclass
class Build:
    """A generation being written: a private directory no reader looks at until it is published."""

    id: str
    path: Path
    store: KBDocumentStore


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

    def councils(self) -> dict[str, dict[str, Any]]:
        """``{council name: {"type", "region", "statistical_neighbours", "ofsted"}}`` for the councils this
        generation names, inspects or leads projects with, and their statistical neighbours ({} if unknown)."""
        text = self.read_text(COUNCILS_FILE)
        return json.loads(text) if text is not None else {}

    def projects(self) -> list[dict[str, Any]]:
        """The projects catalogue this generation was linked with (``projects.json``; [] if none)."""
        text = self.read_text(PROJECTS_FILE)
        if text is None:
            return []
        return json.loads(text)["projects"]


# What a generation's readers search, on either backend: the same read interface (index/pg_store.py).
PassageStore = KBDocumentStore | PgDocumentStore


def fault_point(name: str) -> None:
    """Die here, as if killed, when ``KB_FAULT`` names this point: tests use it to make kill -9 deterministic.

    Points: ``after-begin``, ``before-publish``, ``after-rename``, ``after-current``.
    """
    if os.environ.get("KB_FAULT") == name:
        os._exit(137)


def _new_id() -> str:
    # Sortable to the microsecond: pruning and rollback rely on name order being age order.
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S-%f") + "-" + secrets.token_hex(2)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


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

    def rollback(self, to: str | None = None) -> str:
        """Make an older generation live; returns its id."""

    def prune(self, keep: int) -> list[str]:
        """Delete the oldest generations beyond ``keep``, never the live one."""

    def write_run_report(self, run_id: str, report: dict[str, Any]) -> Any:
        """Keep what a run did."""

    def last_run(self) -> dict[str, Any] | None:
        """The newest run report."""


def generations(settings: Settings) -> GenerationBackend:
    """The generation backend the settings name: PostgreSQL when ``store_url`` is set, else the local data directory."""
    if settings.store_url:
        from index.pg_generations import PgGenerations

        return PgGenerations(settings.store_url, settings.data_dir)
    return DataDir(settings.data_dir)


class DataDir:
    """One data directory of local files; see the module docstring for its layout."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.generations = self.root / "generations"
        self.current_file = self.root / "CURRENT"
        self.cache = self.root / "cache"
        self.runs = self.root / "runs"

    def ensure(self) -> None:
        for path in (self.generations, self.cache, self.runs):
            path.mkdir(parents=True, exist_ok=True)

    def live_stamp(self) -> tuple[int, int] | None:
        """CURRENT's modification time and inode: both change when a generation is published or rolled back."""
        try:
            st = os.stat(self.current_file)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def current_id(self) -> str | None:
        try:
            value = self.current_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return value or None

    def published(self) -> list[str]:
        """Ids of published generations, oldest first."""
        if not self.generations.is_dir():
            return []
        return sorted(p.name for p in self.generations.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST_FILE).is_file())

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the writer lock; raise at once if another writer has it.

        :raises LockHeldError: when another ingest or re-index is running on this data directory.
        """
        self.ensure()
        with open(self.root / "lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockHeldError(
                    f"Another ingest is running on {self.root} (its lock is held). Wait for it to finish."
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def begin(self, faiss_factory: str = "auto") -> Build:
        """Start a new generation in a hidden directory; leftovers of crashed runs are removed first."""
        self.ensure()
        for leftover in self.generations.glob(".build-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        gen_id = _new_id()
        path = self.generations / f".build-{gen_id}"
        path.mkdir()
        build = Build(gen_id, path, KBDocumentStore(path / CHUNKS_FILE, faiss_factory=faiss_factory))
        fault_point("after-begin")
        return build

    def publish(self, build: Build, manifest: Manifest, keep: int) -> None:
        """Write vectors and manifest, move the build into place and point CURRENT at it.

        A crash before the final rename leaves the previous generation live.
        """
        fault_point("before-publish")
        build.store.save_vectors(build.path / VECTORS_FILE)
        if not (build.path / LEXICAL_DIR).exists():  # ingest writes it before its gate; other builders here
            build.store.save_lexical(build.path / LEXICAL_DIR)
        build.store.finalise()
        _write_atomic(build.path / MANIFEST_FILE, json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False))
        for name in (CHUNKS_FILE, VECTORS_FILE):
            with open(build.path / name, "rb") as handle:
                os.fsync(handle.fileno())
        final = self.generations / build.id
        os.replace(build.path, final)
        _fsync_dir(self.generations)
        fault_point("after-rename")
        _write_atomic(self.current_file, build.id + "\n")
        fault_point("after-current")
        self.prune(keep)

    def rollback(self, to: str | None = None) -> str:
        """Make an older published generation live (the one before the live one, or ``to``).

        :returns: the id now live.
        :raises IndexNotFoundError: when there is no such generation to go back to.
        """
        to = rollback_target(self.published(), self.current_id(), to, str(self.root))
        _write_atomic(self.current_file, to + "\n")
        return to

    def last_run(self) -> dict[str, Any] | None:
        """The newest run report, if any."""
        if not self.runs.is_dir():
            return None
        reports = sorted(self.runs.glob("*.json"))
        if not reports:
            return None
        try:
            return json.loads(reports[-1].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def abandon(self, build: Build) -> None:
        build.store.close()
        shutil.rmtree(build.path, ignore_errors=True)

    def prune(self, keep: int) -> list[str]:
        """Delete the oldest generations beyond ``keep``, never the live one; returns what was deleted."""
        doomed = beyond_keep(self.published(), self.current_id(), keep)
        for gen_id in doomed:
            shutil.rmtree(self.generations / gen_id, ignore_errors=True)
        return doomed

    def open(self, settings: Settings, gen_id: str | None = None) -> Generation:
        """The live generation (or ``gen_id``) read-only; see :func:`open_generation`."""
        return _open_local(self, settings, gen_id)

    def write_run_report(self, run_id: str, report: dict[str, Any]) -> Path:
        self.ensure()
        path = self.runs / f"{run_id}.json"
        _write_atomic(path, json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return path


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


def open_generation(settings: Settings, gen_id: str | None = None) -> Generation:
    """Open the live generation (or ``gen_id``) read-only, from the settings' backend.

    :raises IndexNotFoundError: when nothing has been published yet.
    :raises IndexIncompatibleError: when its manifest does not fit the settings.
    """
    return generations(settings).open(settings, gen_id)


def _open_local(data: DataDir, settings: Settings, gen_id: str | None) -> Generation:
    gen_id = gen_id or data.current_id()
    if gen_id is None:
        raise IndexNotFoundError(
            f"No index in {data.root} yet. Build one with: kb ingest corpus --data-dir {data.root}"
        )
    path = data.generations / gen_id
    try:
        manifest = Manifest.read(path / MANIFEST_FILE)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexNotFoundError(
            f"Generation {gen_id} in {data.root} cannot be read ({exc}). Run `kb ingest` again to publish a new one."
        ) from None
    check_compatible(manifest, settings)
    store = KBDocumentStore(path / CHUNKS_FILE, read_only=True, vectors_path=path / VECTORS_FILE,
                            nprobe=settings.ann_nprobe, lexical_path=path / LEXICAL_DIR)
    return Generation(gen_id, path, manifest, store)
