"""The local backend's generations: immutable directories, an atomically replaced CURRENT, a writer lock.

The layout is :mod:`index.storage.layout`'s. :class:`DataDir` implements
:class:`~index.storage.contract.GenerationBackend` over local files.

Usage::

    backend = DataDir(settings.data_dir)
    with backend.lock():
        build = backend.begin()
        ...  # write build.store
        backend.publish(build, manifest, keep=3)
    generation = backend.open(settings)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from index.errors import IndexNotFoundError, LockHeldError
from index.records import RunRecord
from index.settings import Settings
from index.storage.contract import (
    Build,
    Generation,
    Manifest,
    beyond_keep,
    check_compatible,
    fault_point,
    new_generation_id,
    rollback_target,
)
from index.storage.layout import CHUNKS_FILE, LEXICAL_DIR, MANIFEST_FILE, VECTORS_FILE, DataLayout
from index.storage.local.store import KBDocumentStore


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename into it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place (readers see all or nothing)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


class DataDir:
    """One data directory of local files; see :mod:`index.storage.layout` for its layout."""

    def __init__(self, root: str | Path) -> None:
        self.layout = DataLayout.of(root)
        self.root = self.layout.root
        self.generations = self.layout.generations
        self.current_file = self.layout.current_file
        self.cache = self.layout.cache
        self.runs = self.layout.runs

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
        with open(self.layout.lock_file, "a+") as handle:
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

    def local_copy(self, generation: Generation) -> Generation | None:
        """A local generation is its own copy to derive builds from."""
        return generation if generation.local else None

    def begin(self, faiss_factory: str = "auto") -> Build:
        """Start a new generation in a hidden directory; leftovers of crashed runs are removed first."""
        self.ensure()
        return start_build(self.generations, faiss_factory)

    def publish(self, build: Build, manifest: Manifest, keep: int) -> None:
        """Write vectors and manifest, move the build into place and point CURRENT at it.

        A crash before the final rename leaves the previous generation live.
        """
        fault_point("before-publish")
        build.store.save_vectors(build.path / VECTORS_FILE)
        if not (build.path / LEXICAL_DIR).exists():  # ingest writes it before its gate; other builders here
            build.store.save_lexical(build.path / LEXICAL_DIR)
        build.store.finalise()
        write_atomic(build.path / MANIFEST_FILE, json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False))
        for name in (CHUNKS_FILE, VECTORS_FILE):
            with open(build.path / name, "rb") as handle:
                os.fsync(handle.fileno())
        final = self.generations / build.id
        os.replace(build.path, final)
        fsync_dir(self.generations)
        fault_point("after-rename")
        write_atomic(self.current_file, build.id + "\n")
        fault_point("after-current")
        self.prune(keep)

    def rollback(self, to: str | None = None) -> str:
        """Make an older published generation live (the one before the live one, or ``to``).

        :returns: the id now live.
        :raises IndexNotFoundError: when there is no such generation to go back to.
        """
        to = rollback_target(self.published(), self.current_id(), to, str(self.root))
        write_atomic(self.current_file, to + "\n")
        return to

    def last_run(self) -> RunRecord | None:
        """The newest run report, if any (None too when it cannot be read)."""
        if not self.runs.is_dir():
            return None
        reports = sorted(self.runs.glob("*.json"))
        if not reports:
            return None
        try:
            data = json.loads(reports[-1].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return RunRecord.from_dict(data) if isinstance(data, dict) else None

    def abandon(self, build: Build) -> None:
        abandon_build(build)

    def prune(self, keep: int) -> list[str]:
        """Delete the oldest generations beyond ``keep``, never the live one; returns what was deleted."""
        doomed = beyond_keep(self.published(), self.current_id(), keep)
        for gen_id in doomed:
            shutil.rmtree(self.generations / gen_id, ignore_errors=True)
        return doomed

    def open(self, settings: Settings, gen_id: str | None = None) -> Generation:
        """The live generation (or ``gen_id``) read-only.

        :raises IndexNotFoundError: when nothing has been published yet.
        :raises IndexIncompatibleError: when its manifest does not fit the settings.
        """
        gen_id = gen_id or self.current_id()
        if gen_id is None:
            raise IndexNotFoundError(
                f"No index in {self.root} yet. Build one with: kb ingest corpus --data-dir {self.root}"
            )
        path = self.generations / gen_id
        try:
            manifest = Manifest.read(path / MANIFEST_FILE)
        except (OSError, ValueError, TypeError) as exc:
            raise IndexNotFoundError(
                f"Generation {gen_id} in {self.root} cannot be read ({exc}). Run `kb ingest` again to publish a "
                "new one."
            ) from None
        check_compatible(manifest, settings)
        store = KBDocumentStore(path / CHUNKS_FILE, read_only=True, vectors_path=path / VECTORS_FILE,
                                nprobe=settings.ann_nprobe, lexical_path=path / LEXICAL_DIR)
        return Generation(gen_id, path, manifest, store)

    def shared_connection(self) -> None:
        """None: one machine's files share nothing with other machines."""
        return None

    def write_run_report(self, run_id: str, report: dict[str, Any]) -> Path:
        self.ensure()
        path = self.runs / f"{run_id}.json"
        write_atomic(path, json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return path


def start_build(parent: Path, faiss_factory: str) -> Build:
    """A new build in a hidden directory of ``parent`` (leftovers of crashed builds there removed first): how
    every backend starts one, since a build is always written locally."""
    parent.mkdir(parents=True, exist_ok=True)
    for leftover in parent.glob(".build-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    gen_id = new_generation_id()
    path = parent / f".build-{gen_id}"
    path.mkdir()
    build = Build(gen_id, path, KBDocumentStore(path / CHUNKS_FILE, faiss_factory=faiss_factory))
    fault_point("after-begin")
    return build


def abandon_build(build: Build) -> None:
    """Close a build's store and delete its directory."""
    build.store.close()
    shutil.rmtree(build.path, ignore_errors=True)
