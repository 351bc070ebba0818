"""Generations in PostgreSQL: the second :class:`index.storage.contract.GenerationBackend`, for many machines.

The catalogue schema ``kb`` holds ``generations`` (id, schema, manifest), ``live`` (one row: the
live generation and a change counter that readers poll) and ``runs`` (run reports). Each
published generation is a schema of its own (:mod:`index.storage.postgres.store` lists its tables).

A build is written as on one machine, in a local scratch directory of the writer's data directory
(the same pipeline, the same quality gate over the same files); publishing copies it into a new
schema and makes it live **in one transaction**: a reader sees the old generation or the new one,
never half of one, and a writer killed at any point leaves at most a scratch directory, removed by
the next run (a transaction that did not commit leaves nothing in the database). One writer at a
time holds a PostgreSQL advisory lock, released by the server if the writer dies.

Web replicas hold nothing of the index: each request reads ``kb.live`` (one indexed row) and a
replica that sees a new generation opens it, while requests already running finish on the old one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from index.errors import IndexNotFoundError, IngestError, LockHeldError, StoreUnavailableError
from index.records import RunRecord
from index.settings import Settings
from index.storage.contract import (
    Build,
    BuildStore,
    Generation,
    Manifest,
    beyond_keep,
    check_compatible,
    fault_point,
    rollback_target,
)
from index.storage.layout import CHUNKS_FILE, LEXICAL_DIR, MANIFEST_FILE, VECTORS_FILE, DataLayout
from index.storage.local.datadir import abandon_build, start_build, write_atomic
from index.storage.local.store import KBDocumentStore
from index.storage.local.vectors import choose_factory
from index.storage.postgres.derived import HNSW_INDEX, Sent, apply_changes, changes, copy_live, copy_store
from index.storage.postgres.lexical_write import LEXICAL_TABLES, write_lexical
from index.storage.postgres.pool import CATALOGUE, ProcessPool, connect, gen_schema, pool_for, redacted
from index.storage.postgres.store import PgDocumentStore

logger = logging.getLogger(__name__)

# pg_advisory_lock keys: the writer lock, and the lock that serialises creating the catalogue.
WRITER_LOCK = 0x6B62_0001
_CATALOGUE_LOCK = 0x6B62_0002

_CATALOGUE_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {CATALOGUE};
CREATE TABLE IF NOT EXISTS {CATALOGUE}.generations (
    id text PRIMARY KEY,
    schema_name text NOT NULL UNIQUE,
    manifest jsonb NOT NULL,
    published timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {CATALOGUE}.live (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    generation text NOT NULL REFERENCES {CATALOGUE}.generations(id),
    changes bigint NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS {CATALOGUE}.runs (
    id text PRIMARY KEY,
    report jsonb NOT NULL,
    written timestamptz NOT NULL DEFAULT now()
);
-- /gaps: the searches that found little, from every replica (webapp/gaps.py's SharedGapLog)
CREATE TABLE IF NOT EXISTS {CATALOGUE}.gap_secret (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS {CATALOGUE}.gap_searches (
    fingerprint text NOT NULL,
    day text NOT NULL,
    found_none integer NOT NULL DEFAULT 0,
    found_few integer NOT NULL DEFAULT 0,
    PRIMARY KEY (fingerprint, day)
);
CREATE TABLE IF NOT EXISTS {CATALOGUE}.gap_words (fingerprint text PRIMARY KEY, words text NOT NULL);
"""

_GENERATION_DDL = """
CREATE TABLE {s}.sources (
    pos bigint NOT NULL,
    id text PRIMARY KEY,
    source text NOT NULL,
    title text NOT NULL,
    type text NOT NULL,
    date text,
    publisher text,
    url text,
    content text NOT NULL,
    content_hash text NOT NULL,
    meta jsonb NOT NULL
);
CREATE TABLE {s}.chunks (
    rowid bigint PRIMARY KEY,
    id text NOT NULL UNIQUE,
    content text,
    title text NOT NULL DEFAULT '',
    source_id text,
    meta jsonb NOT NULL,
    embedding vector({dim})
);
CREATE TABLE {s}.source_signatures (id text PRIMARY KEY, minhash bytea NOT NULL);
CREATE TABLE {s}.source_vectors (source_id text PRIMARY KEY, passages integer NOT NULL, vector bytea NOT NULL);
CREATE TABLE {s}.files (name text PRIMARY KEY, data bytea NOT NULL);
"""

_ready: set[str] = set()
_ready_lock = threading.Lock()


class PgGenerations:
    """Generations in the PostgreSQL database at ``url``; ``data_dir`` holds only the writer's builds and caches."""

    def __init__(self, url: str, data_dir: str | Path) -> None:
        self.url = url
        self.layout = DataLayout.of(data_dir)
        self.root = self.layout.root
        self.builds = self.layout.builds
        self.where = redacted(url)
        # What the last publish sent and copied (for the run's log and the tests).
        self.last_publish: Sent | None = None
        # Builds whose schema is being copied from the live one while they are made (begin → publish).
        self._copying: dict[str, _LiveCopy] = {}

    # -- the catalogue --------------------------------------------------------------------------

    def _pool(self) -> Any:
        with _ready_lock:
            if self.url not in _ready:
                # The first contact is a plain connection: if the server is not there, say so at once, with
                # the driver's reason, rather than after the pool's wait.
                with self._reaching(), connect(self.url) as conn:
                    # A replica's read-only role may not create anything: look before creating.
                    row = conn.execute(f"SELECT to_regclass('{CATALOGUE}.gap_words')").fetchone()
                    if row is None or row[0] is None:
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CATALOGUE_LOCK,))
                        conn.execute(_CATALOGUE_DDL)
                _ready.add(self.url)
        return pool_for(self.url)

    @contextlib.contextmanager
    def _reaching(self) -> Iterator[None]:
        """Turn "the server is down / refused us / no connection came" into one message for people."""
        try:
            yield
        except (psycopg.OperationalError, PoolTimeout) as exc:
            reason = " ".join(str(exc).split())  # the driver's message may span lines
            raise StoreUnavailableError(f"The PostgreSQL store {self.where} cannot be reached ({reason}). Check that "
                                        "it is running and that store_url is right.") from None

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple]:
        """One statement's rows, read in autocommit: one round trip (the live stamp is read at every request)."""
        self._pool()
        with self._reaching(), pool_for(self.url, autocommit=True).connection() as conn:
            return conn.execute(sql, params).fetchall()

    def live_stamp(self) -> tuple[str, int] | None:
        """The live generation and how many times ``live`` has changed: both move at every publish or rollback."""
        rows = self._rows(f"SELECT generation, changes FROM {CATALOGUE}.live")
        return (rows[0][0], int(rows[0][1])) if rows else None

    def current_id(self) -> str | None:
        stamp = self.live_stamp()
        return stamp[0] if stamp else None

    def published(self) -> list[str]:
        """Ids of published generations, oldest first (ids sort by creation time)."""
        return [r[0] for r in self._rows(f"SELECT id FROM {CATALOGUE}.generations ORDER BY id")]

    # -- writing ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the writer lock (a session advisory lock on its own connection); raise at once if another has it.

        :raises LockHeldError: when another ingest or re-index is writing to this database.
        """
        self._pool()
        with self._reaching():
            conn = connect(self.url)
        conn.autocommit = True
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()
            if not (row and row[0]):
                raise LockHeldError(f"Another ingest is running against the PostgreSQL store {self.where} (its "
                                    "lock is held). Wait for it to finish.")
            # Holding the lock, no build of any writer is under way: scratch left here by a killed run goes now,
            # even when this run publishes nothing.
            for leftover in self.builds.glob(".build-*"):
                shutil.rmtree(leftover, ignore_errors=True)
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK,))
        finally:
            conn.close()

    def begin(self, faiss_factory: str = "auto") -> Build:
        """Start a build in the writer's scratch directory; leftovers of crashed runs (scratch directories,
        schemas no generation names) are removed first."""
        self.layout.cache.mkdir(parents=True, exist_ok=True)
        self._drop_orphans()
        build = start_build(self.builds, faiss_factory)
        live = self.current_id()
        if live is not None and self._mirror(live) is not None and self._dimension(live) > 0:
            self._copying[build.id] = _LiveCopy(self.url, gen_schema(build.id), live, self._dimension(live))
        return build

    def _dimension(self, gen_id: str) -> int:
        rows = self._rows(f"SELECT (manifest->>'embedding_dim')::int FROM {CATALOGUE}.generations WHERE id = %s",
                          (gen_id,))
        return int(rows[0][0]) if rows and rows[0][0] else 0

    def _drop_orphans(self) -> None:
        known = {r[0] for r in self._rows(f"SELECT schema_name FROM {CATALOGUE}.generations")}
        schemas = [r[0] for r in self._rows("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'kbg\\_%%'")]
        for schema in schemas:
            if schema not in known:
                logger.info("Dropping %s, left by a run that did not publish", schema)
                with self._pool().connection() as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def publish(self, build: Build, manifest: Manifest, keep: int) -> None:
        """Copy the build into a new schema and make it live; then keep the build as the writer's mirror of the
        live generation and prune beyond ``keep``.

        When the writer's mirror is the live generation's, the new schema is derived from the live one inside
        the database and only the rows that differ from the mirror are sent (:mod:`index.storage.postgres.derived`);
        otherwise every row is.
        """
        fault_point("before-publish")
        store = build.store
        store.save_vectors(build.path / VECTORS_FILE)  # the mirror's: the next build's vectors start from it
        if not (build.path / LEXICAL_DIR).exists():
            store.save_lexical(build.path / LEXICAL_DIR)
        copying = self._copying.pop(build.id, None)
        live = self.current_id()
        mirror = self._mirror(live) if live is not None else None
        if copying is not None and (copying.live != live or copying.dimension != manifest.embedding_dim):
            copying.discard()  # another generation went live meanwhile, or the build's vectors are of another size
            copying = None
        self.last_publish = self._copy_in(build.id, build.path, store, manifest, live=True,
                                          base=(live, mirror) if live is not None and mirror is not None else None,
                                          copying=copying)
        fault_point("after-current")
        self._keep_mirror(build, manifest)
        self.prune(keep)

    def import_generation(self, generation: Generation, live: bool) -> None:
        """Copy a published local generation in under its own id (``kb migrate``); live too when ``live`` (and
        its files become the writer's mirror, so that the next build here is derived from them).

        :raises IngestError: when the database already holds a generation of that id.
        """
        if generation.id in self.published():
            raise IngestError(f"Generation {generation.id} is already in {self.where}; nothing was copied.")
        if not isinstance(generation.store, KBDocumentStore):
            raise IngestError(f"Generation {generation.id} is not a local one; `kb migrate` copies local files in.")
        self.last_publish = self._copy_in(generation.id, generation.path, generation.store, generation.manifest,
                                          live=live)
        if live:
            target = self.layout.mirror / generation.id
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(generation.path, target)
            self._drop_mirrors(but=generation.id)

    # -- the writer's mirror of the live generation ---------------------------------------------------

    def _mirror(self, gen_id: str) -> Path | None:
        """The writer's local copy of generation ``gen_id`` (the build it published), if it has that one."""
        path = self.layout.mirror / gen_id
        return path if (path / MANIFEST_FILE).is_file() and (path / CHUNKS_FILE).is_file() else None

    def _keep_mirror(self, build: Build, manifest: Manifest) -> None:
        """Keep a published build as the mirror of the live generation (older mirrors go): one generation's
        local files on the writer, for deriving the next build and its schema from."""
        build.store.finalise()
        write_atomic(build.path / MANIFEST_FILE, json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False))
        self.layout.mirror.mkdir(parents=True, exist_ok=True)
        target = self.layout.mirror / build.id
        shutil.rmtree(target, ignore_errors=True)
        build.path.replace(target)
        self._drop_mirrors(but=build.id)

    def _drop_mirrors(self, but: str) -> None:
        if self.layout.mirror.is_dir():
            for path in self.layout.mirror.iterdir():
                if path.name != but:
                    shutil.rmtree(path, ignore_errors=True)

    def local_copy(self, generation: Generation) -> Generation | None:
        """The writer's mirror of ``generation`` opened as a local generation (a build may start from a copy of
        it, as on one machine), or None when the mirror is of another generation or missing."""
        path = self._mirror(generation.id)
        if path is None:
            return None
        try:
            manifest = Manifest.read(path / MANIFEST_FILE)
        except (OSError, ValueError):
            return None
        # Not the files the database holds (its vector index kind is its own): never derive from them.
        if dataclasses.replace(manifest, faiss_factory="") != dataclasses.replace(generation.manifest,
                                                                                   faiss_factory=""):
            return None
        store = KBDocumentStore(path / CHUNKS_FILE, read_only=True, vectors_path=path / VECTORS_FILE,
                                faiss_factory=manifest.faiss_factory, lexical_path=path / LEXICAL_DIR)
        return Generation(generation.id, path, manifest, store)

    def _copy_in(self, gen_id: str, path: Path, store: BuildStore, manifest: Manifest, live: bool,
                 base: tuple[str, Path] | None = None, copying: _LiveCopy | None = None) -> Sent:
        """The generation's schema, its rows and files, its lexical tables and indexes; then, in one transaction,
        its catalogue row and (``live``) the live pointer: nothing of it is seen before that commit.

        ``base``: the live generation's id and the writer's mirror of it, from which the schema is derived
        inside the database (only the build's rows that differ from the mirror are sent); ``copying``: that
        schema's copy of the live rows, started when the build began (:class:`_LiveCopy`).
        """
        self._pool()  # the catalogue exists
        schema = gen_schema(gen_id)
        passages = store.count_documents()
        hnsw = choose_factory(store.faiss_factory, passages) != "Flat"
        manifest = dataclasses.replace(manifest, faiss_factory="HNSW" if hnsw else "Flat")
        # Derived only when the build started from the writer's copy (a full rebuild shares few rows with it).
        found = (changes(store.connection(), base[1] / CHUNKS_FILE)
                 if base is not None and store.derived_from_base else None)
        if found is None and copying is not None:
            copying.discard()
            copying = None
        if found is not None and copying is None:
            assert base is not None
            copying = _LiveCopy(self.url, schema, base[0], int(manifest.embedding_dim), background=False)
        with contextlib.closing(copying.connection() if copying is not None else connect(self.url)) as conn:
            if copying is None:
                conn.execute(f"CREATE SCHEMA {schema}")
                conn.execute(_GENERATION_DDL.format(s=schema, dim=int(manifest.embedding_dim)))
            if found is not None:
                assert base is not None
                mirror = KBDocumentStore(base[1] / CHUNKS_FILE, read_only=True)
                try:
                    sent = apply_changes(conn, schema, gen_schema(base[0]), store, path, found, mirror)
                finally:
                    mirror.close()
            else:
                sent = Sent(copy_store(conn, schema, store, path), {}, derived=False)
                sent.sent["lexical_passages"] = write_lexical(conn, schema, store.lexical_rows())
            # (A derived schema has them already, made with the copy of the live rows.)
            conn.execute(f"CREATE INDEX IF NOT EXISTS chunks_source_id_idx ON {schema}.chunks (source_id)")
            conn.execute(f"CREATE INDEX IF NOT EXISTS sources_pos_idx ON {schema}.sources (pos)")
            if hnsw:
                conn.execute(f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON {schema}.chunks "
                             "USING hnsw (embedding vector_ip_ops)")
            else:
                conn.execute(f"DROP INDEX IF EXISTS {schema}.{HNSW_INDEX}")  # copied from a live one above the size
            for table in ("sources", "chunks"):
                conn.execute(f"ANALYZE {schema}.{table}")
            conn.commit()
        logger.info("Published %s: %s rows sent, %s copied inside the database (%s)", gen_id,
                    sent.rows_sent(), sum(sent.copied.values()), "derived from the live schema" if sent.derived
                    else "whole")
        with connect(self.url) as conn:
            conn.execute(f"INSERT INTO {CATALOGUE}.generations (id, schema_name, manifest) VALUES (%s, %s, %s)",
                         (gen_id, schema, json.dumps(manifest.to_dict(), ensure_ascii=False)))
            fault_point("after-rename")
            if live:
                conn.execute(f"INSERT INTO {CATALOGUE}.live (one, generation) VALUES (true, %s) ON CONFLICT (one) "
                             f"DO UPDATE SET generation = excluded.generation, changes = {CATALOGUE}.live.changes + 1",
                             (gen_id,))
        return sent

    def abandon(self, build: Build) -> None:
        copying = self._copying.pop(build.id, None)
        if copying is not None:
            copying.discard()
        abandon_build(build)

    def rollback(self, to: str | None = None) -> str:
        """Make an older published generation live (the one before the live one, or ``to``).

        :raises IndexNotFoundError: when there is no such generation to go back to.
        """
        to = rollback_target(self.published(), self.current_id(), to, self.where)
        with self._pool().connection() as conn:
            conn.execute(f"UPDATE {CATALOGUE}.live SET generation = %s, changes = changes + 1", (to,))
        return to

    def prune(self, keep: int) -> list[str]:
        """Drop the oldest generations beyond ``keep``, never the live one; returns what was dropped."""
        doomed = beyond_keep(self.published(), self.current_id(), keep)
        for gen_id in doomed:
            with self._pool().connection() as conn:
                conn.execute(f"DELETE FROM {CATALOGUE}.generations WHERE id = %s", (gen_id,))
                conn.execute(f"DROP SCHEMA IF EXISTS {gen_schema(gen_id)} CASCADE")
        return doomed

    # -- reading ---------------------------------------------------------------------------------

    def open(self, settings: Settings, gen_id: str | None = None) -> Generation:
        """The live generation (or ``gen_id``) for reading.

        :raises IndexNotFoundError: when nothing has been published yet, or ``gen_id`` is not published.
        :raises IndexIncompatibleError: when its manifest does not fit the settings.
        """
        gen_id = gen_id or self.current_id()
        if gen_id is None:
            raise IndexNotFoundError(f"No index in the PostgreSQL store {self.where} yet. Build one with: "
                                     "kb ingest corpus")
        rows = self._rows(f"SELECT schema_name, manifest::text FROM {CATALOGUE}.generations WHERE id = %s",
                          (gen_id,))
        if not rows:
            raise IndexNotFoundError(f"Generation {gen_id} is not in {self.where}; `kb stats` lists the published "
                                     "ones.")
        schema, manifest_json = rows[0]
        data = json.loads(manifest_json)
        manifest = Manifest(**{k: v for k, v in data.items() if k in Manifest.__dataclass_fields__})
        check_compatible(manifest, settings)
        store = PgDocumentStore(self.url, schema, ef_search=settings.hnsw_ef_search)
        self._pool()
        pool = ProcessPool(self.url, autocommit=True)

        def read(name: str) -> bytes | None:
            with pool.connection() as conn:
                row = conn.execute(f"SELECT data FROM {schema}.files WHERE name = %s", (name,)).fetchone()
            return None if row is None else bytes(row[0])

        return Generation(gen_id, self.root / "postgresql" / gen_id, manifest, store, files=read)

    @contextlib.contextmanager
    def shared_connection(self) -> Iterator[Any]:
        """A pooled connection to the database, the catalogue (and the tables every replica shares) created."""
        pool = self._pool()
        with self._reaching(), pool.connection() as conn:
            yield conn

    def write_run_report(self, run_id: str, report: dict[str, Any]) -> str:
        text = json.dumps(report, ensure_ascii=False, default=str)
        with self._pool().connection() as conn:
            conn.execute(f"INSERT INTO {CATALOGUE}.runs (id, report) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE "
                         "SET report = excluded.report, written = now()", (run_id, text))
        return f"{CATALOGUE}.runs {run_id}"

    def last_run(self) -> RunRecord | None:
        rows = self._rows(f"SELECT report FROM {CATALOGUE}.runs ORDER BY id DESC LIMIT 1")
        return RunRecord.from_dict(rows[0][0]) if rows and isinstance(rows[0][0], dict) else None


class _LiveCopy:
    """A new generation's schema filled with the live generation's rows inside the database
    (:func:`index.storage.postgres.derived.copy_live`), in a transaction of its own connection that the publish
    finishes: started in the background when a build begins (the copy needs nothing of the build), so that the
    database copies while the writer converts and embeds. Nothing is committed until the publish; a build
    abandoned, or a writer killed, leaves nothing."""

    def __init__(self, url: str, schema: str, live: str, dimension: int, background: bool = True) -> None:
        self.live = live
        self.dimension = dimension
        self._conn = connect(url)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._args = (schema, gen_schema(live), dimension)
        if background:
            self._thread = threading.Thread(target=self._run, name="kb-live-copy", daemon=True)
            self._thread.start()
        else:
            self._run()

    def _run(self) -> None:
        schema, live_schema, dimension = self._args
        try:
            self._conn.execute(f"CREATE SCHEMA {schema}")
            self._conn.execute(_GENERATION_DDL.format(s=schema, dim=dimension))
            copy_live(self._conn, schema, live_schema)
            # Committed (no generation names the schema yet: readers never see it, and the next writer drops it if
            # this one dies), so that VACUUM can mark the copied rows visible to all: searches then read the
            # postings from their index alone, as on a generation loaded with COPY FREEZE. The publish's
            # changes touch few pages.
            self._conn.commit()
            self._conn.autocommit = True
            for table in ("sources", "chunks", *LEXICAL_TABLES[:2]):
                self._conn.execute(f"VACUUM {schema}.{table}")
            self._conn.autocommit = False
        except BaseException as exc:  # raised again in the publishing thread
            self._error = exc

    def connection(self) -> psycopg.Connection:
        """The copy's connection, its transaction open, once the copy is done.

        :raises: what the copy raised.
        """
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            self._conn.close()
            raise self._error
        return self._conn

    def discard(self) -> None:
        """Throw the copy away: its schema is dropped (the next writer's start drops it too, if this fails)."""
        while self._thread is not None and self._thread.is_alive():
            self._conn.cancel_safe()  # a cancel that falls between two statements is lost: ask again
            self._thread.join(0.5)
        try:
            self._conn.rollback()
            self._conn.autocommit = True
            self._conn.execute(f"DROP SCHEMA IF EXISTS {self._args[0]} CASCADE")
        except psycopg.Error as exc:
            logger.info("The copy of %s for a build that was not published stays until the next run: %s",
                        self._args[0], exc)
        finally:
            self._conn.close()
