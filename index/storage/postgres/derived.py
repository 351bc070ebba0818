"""A new generation's schema derived inside the database from the live one: only what changed is sent.

The writer keeps a local copy of the generation it last published (its *mirror*, the build it copied
in: see :class:`index.storage.postgres.generations.PgGenerations`). A build derived from that copy
differs from it in a few rows; :func:`changes` finds them by comparing the two SQLite files row by row
(every column, so it holds whatever the build did). The new schema is written in two halves of one
transaction: :func:`copy_live` copies every live row inside the database (``INSERT ... SELECT``, the
postings' index built), which needs nothing of the build and so runs while the build is being made;
:func:`apply_changes` then deletes the rows that went and sends the build's new ones (COPY from the
client). The result is, table for table, what copying the whole build (:func:`copy_store`) writes;
``tests/index/test_pg_publish.py`` checks it.

Usage::

    copy_live(conn, schema, live_schema)                       # while the build is made
    found = changes(build.store.connection(), mirror / CHUNKS_FILE)
    sent = apply_changes(conn, schema, build.store, build.path, found)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from index.storage.contract import BuildStore
from index.storage.layout import CHUNKS_FILE, MANIFEST_FILE, VECTORS_FILE
from index.storage.postgres.lexical_write import change_lexical, copy_lexical

# Files of a local build that are not copied: what the database holds as tables or does not need.
NOT_COPIED = {CHUNKS_FILE, VECTORS_FILE, MANIFEST_FILE}

SOURCE_COLUMNS = ("id", "source", "title", "type", "date", "publisher", "url", "content", "content_hash", "meta")
CHUNK_COLUMNS = ("id", "content", "title", "source_id", "meta", "embedding")
# pgvector's index over the passages' vectors, for generations above the exact-search size.
HNSW_INDEX = "chunks_embedding_hnsw"


@dataclass(frozen=True)
class Changes:
    """How a build differs from the local copy of the live generation, row by row.

    ``send_*``: the build's rows (rowids, or keys) to send; ``drop_*``: the live generation's rows not to
    carry (its rowids or keys). ``lexical_sources``: sources whose passages are analysed and sent again
    (a passage changed, or its source's byline may have), ``drop_lexical``: live rowids whose postings go.
    """

    send_sources: list[int]
    drop_sources: list[int]
    send_chunks: list[int]
    drop_chunks: list[int]
    send_signatures: list[str]
    drop_signatures: list[str]
    send_source_vectors: list[str]
    drop_source_vectors: list[str]
    lexical_sources: list[str]
    drop_lexical: list[int]


@dataclass(frozen=True)
class Sent:
    """What a publish sent from the client and what it copied inside the database, by table."""

    sent: dict[str, int]
    copied: dict[str, int]
    derived: bool

    def rows_sent(self) -> int:
        return sum(self.sent.values())


def _differing(conn: sqlite3.Connection, table: str, key: str, columns: Sequence[str], ours: str,
               theirs: str) -> list[Any]:
    """Keys of ``ours.table`` rows with no identical row (same key, every column equal) in ``theirs.table``."""
    same = " AND ".join(f"t.{c} IS o.{c}" for c in columns)
    return [r[0] for r in conn.execute(
        f"SELECT o.{key} FROM {ours}.{table} o LEFT JOIN {theirs}.{table} t ON t.{key} = o.{key} AND {same} "
        f"WHERE t.{key} IS NULL")]


def _has_table(conn: sqlite3.Connection, schema: str, table: str) -> bool:
    # fetchall, not fetchone: a statement left unfinished keeps the table locked (the build is checkpointed later)
    return bool(conn.execute(f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?",
                             (table,)).fetchall())


def changes(conn: sqlite3.Connection, mirror: Path) -> Changes | None:
    """Compare the build (``conn``, its store's connection) with the mirror's SQLite file; None when a row
    cannot be placed (a passage without a source), so the caller copies the whole build."""
    conn.execute("ATTACH DATABASE ? AS mirror", (str(mirror),))  # nobody writes a mirror once it is kept
    try:
        send_sources = _differing(conn, "sources", "rowid", SOURCE_COLUMNS, "main", "mirror")
        drop_sources = _differing(conn, "sources", "rowid", SOURCE_COLUMNS, "mirror", "main")
        send_chunks = _differing(conn, "chunks", "rowid", CHUNK_COLUMNS, "main", "mirror")
        drop_chunks = _differing(conn, "chunks", "rowid", CHUNK_COLUMNS, "mirror", "main")
        send_signatures = _differing(conn, "source_signatures", "id", ("minhash",), "main", "mirror")
        drop_signatures = _differing(conn, "source_signatures", "id", ("minhash",), "mirror", "main")
        ours, theirs = _has_table(conn, "main", "source_vectors"), _has_table(conn, "mirror", "source_vectors")
        columns = ("passages", "vector")
        if ours and theirs:
            send_vectors = _differing(conn, "source_vectors", "source_id", columns, "main", "mirror")
            drop_vectors = _differing(conn, "source_vectors", "source_id", columns, "mirror", "main")
        else:
            send_vectors = [r[0] for r in conn.execute("SELECT source_id FROM source_vectors")] if ours else []
            drop_vectors = ([r[0] for r in conn.execute("SELECT source_id FROM mirror.source_vectors")]
                            if theirs else [])
        # A passage's postings hold its source's byline (publisher, authors): a changed source row re-analyses
        # all its passages, and a changed passage its own source's.
        changed_ids = _ids(conn, "main.sources", "rowid", send_sources) | _ids(conn, "mirror.sources", "rowid",
                                                                                 drop_sources)
        if _has_null_source(conn, "main", send_chunks) or _has_null_source(conn, "mirror", drop_chunks):
            return None
        lexical = (changed_ids | _ids(conn, "main.chunks", "rowid", send_chunks, "source_id")
                   | _ids(conn, "mirror.chunks", "rowid", drop_chunks, "source_id"))
        drop_lexical = set(drop_chunks) | _rowids_of(conn, "mirror", lexical)
        return Changes(send_sources, drop_sources, send_chunks, drop_chunks, send_signatures, drop_signatures,
                       send_vectors, drop_vectors, sorted(lexical), sorted(drop_lexical))
    finally:
        conn.execute("DETACH DATABASE mirror")


_BATCH = 900  # SQLite's bound parameters per statement, with room to spare


def _ids(conn: sqlite3.Connection, table: str, key: str, keys: Sequence[Any], column: str = "id") -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _BATCH):
        part = keys[start:start + _BATCH]
        marks = ",".join("?" * len(part))
        found.update(r[0] for r in conn.execute(f"SELECT {column} FROM {table} WHERE {key} IN ({marks})", part)
                     if r[0] is not None)
    return found


def _has_null_source(conn: sqlite3.Connection, schema: str, rowids: Sequence[int]) -> bool:
    for start in range(0, len(rowids), _BATCH):
        part = rowids[start:start + _BATCH]
        marks = ",".join("?" * len(part))
        if conn.execute(f"SELECT 1 FROM {schema}.chunks WHERE rowid IN ({marks}) AND source_id IS NULL",
                        part).fetchall():
            return True
    return False


def _rowids_of(conn: sqlite3.Connection, schema: str, source_ids: Iterable[str]) -> set[int]:
    ids = list(source_ids)
    found: set[int] = set()
    for start in range(0, len(ids), _BATCH):
        part = ids[start:start + _BATCH]
        marks = ",".join("?" * len(part))
        found.update(r[0] for r in conn.execute(f"SELECT rowid FROM {schema}.chunks WHERE source_id IN ({marks})",
                                                part))
    return found


def _text(value: Any) -> Any:
    # PostgreSQL text holds no NUL character; SQLite's may.
    return value.replace("\x00", "") if isinstance(value, str) else value


_SOURCES_COPY = "pos, id, source, title, type, date, publisher, url, content, content_hash, meta"
_CHUNKS_COPY = "rowid, id, content, title, source_id, meta, embedding"


def _send_sources(cursor: psycopg.Cursor, schema: str, local: sqlite3.Connection, where: str = "",
                  params: Sequence[Any] = ()) -> int:
    count = 0
    with cursor.copy(f"COPY {schema}.sources ({_SOURCES_COPY}) FROM STDIN") as copy:
        for row in local.execute(f"SELECT rowid, {', '.join(SOURCE_COLUMNS)} FROM sources {where} ORDER BY rowid",
                                 params):
            copy.write_row([_text(v) for v in row])
            count += 1
    return count


def _send_chunks(cursor: psycopg.Cursor, schema: str, local: sqlite3.Connection, where: str = "",
                 params: Sequence[Any] = ()) -> int:
    count = 0
    with cursor.copy(f"COPY {schema}.chunks ({_CHUNKS_COPY}) FROM STDIN") as copy:
        for *row, blob in local.execute(f"SELECT rowid, {', '.join(CHUNK_COLUMNS)} FROM chunks {where} "
                                        "ORDER BY rowid", params):
            vector = None if blob is None else np.frombuffer(blob, dtype=np.float32)
            copy.write_row([*(_text(v) for v in row), vector])
            count += 1
    return count


def _send_rows(cursor: psycopg.Cursor, target: str, select: str, local: sqlite3.Connection,
               params: Sequence[Any] = ()) -> int:
    count = 0
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in local.execute(select, params):
            copy.write_row(row)
            count += 1
    return count


def _send_files(cursor: psycopg.Cursor, schema: str, build_path: Path) -> int:
    count = 0
    for path in sorted(build_path.iterdir()):
        if path.is_file() and path.name not in NOT_COPIED and not path.name.startswith(CHUNKS_FILE):
            cursor.execute(f"INSERT INTO {schema}.files (name, data) VALUES (%s, %s)", (path.name, path.read_bytes()))
            count += 1
    return count


def copy_store(conn: psycopg.Connection, schema: str, store: BuildStore, build_path: Path) -> dict[str, int]:
    """Copy a local build's rows and small files into the generation's schema (COPY, row order kept); returns
    the rows sent by table."""
    local = store.connection()
    sent: dict[str, int] = {}
    with conn.cursor() as cursor:
        sent["sources"] = _send_sources(cursor, schema, local)
        sent["chunks"] = _send_chunks(cursor, schema, local)
        sent["source_signatures"] = _send_rows(cursor, f"{schema}.source_signatures (id, minhash)",
                                               "SELECT id, minhash FROM source_signatures", local)
        sent["source_vectors"] = 0
        if _has_table(local, "main", "source_vectors"):
            sent["source_vectors"] = _send_rows(cursor, f"{schema}.source_vectors (source_id, passages, vector)",
                                                "SELECT source_id, passages, vector FROM source_vectors", local)
        sent["files"] = _send_files(cursor, schema, build_path)
    return sent


_TABLES = (("sources", _SOURCES_COPY, "pos"), ("chunks", _CHUNKS_COPY, "rowid"),
           ("source_signatures", "id, minhash", None), ("source_vectors", "source_id, passages, vector", None))


def copy_live(conn: psycopg.Connection, schema: str, live_schema: str) -> None:
    """The first half of deriving a generation: every row of ``live_schema`` copied into ``schema``'s (existing,
    empty) tables inside the database, the lexical ones with their postings index (:func:`copy_lexical`). It
    needs nothing of the build, so it may run while the build is being made; not committed."""
    for table, columns, order in _TABLES:
        conn.execute(f"INSERT INTO {schema}.{table} ({columns}) SELECT {columns} FROM {live_schema}.{table}"
                     + (f" ORDER BY {order}" if order else ""))
    copy_lexical(conn, schema, live_schema)
    # The indexes the publish makes (the same names), here where they cost the build nothing: the changes are
    # then a few entries each. The vector index only where the live generation has one (large ones do).
    conn.execute(f"CREATE INDEX chunks_source_id_idx ON {schema}.chunks (source_id)")
    conn.execute(f"CREATE INDEX sources_pos_idx ON {schema}.sources (pos)")
    row = conn.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                       (live_schema, HNSW_INDEX)).fetchone()
    if row is not None:
        conn.execute(f"CREATE INDEX {HNSW_INDEX} ON {schema}.chunks USING hnsw (embedding vector_ip_ops)")


def apply_changes(conn: psycopg.Connection, schema: str, live_schema: str, store: BuildStore, build_path: Path,
                  found: Changes, mirror: BuildStore) -> Sent:
    """The second half (after :func:`copy_live`, in its transaction): the live rows ``found`` drops are deleted,
    the build's rows it names are sent, the small files too, and the lexical tables are brought to the build's
    passages (:func:`change_lexical`; ``mirror``, the writer's copy of the live generation, gives the dropped
    passages' text). Nothing is committed here. Returns what was sent and what was carried."""
    local = store.connection()
    sent: dict[str, int] = {}
    copied: dict[str, int] = {}
    drops = (("kb_drop_sources", "bigint", found.drop_sources), ("kb_drop_chunks", "bigint", found.drop_chunks),
             ("kb_drop_signatures", "text", found.drop_signatures),
             ("kb_drop_source_vectors", "text", found.drop_source_vectors),
             ("kb_drop_lexical", "bigint", found.drop_lexical))
    with conn.cursor() as cursor:
        for name, kind, keys in drops:
            column = "rowid" if kind == "bigint" else "key"
            cursor.execute(f"CREATE TEMP TABLE {name} ({column} {kind} PRIMARY KEY) ON COMMIT DROP")
            with cursor.copy(f"COPY {name} FROM STDIN") as copy:
                for key in keys:
                    copy.write_row((key,))
        for (table, _, _), key, drop in zip(_TABLES, ("pos", "rowid", "id", "source_id"),
                                            ("kb_drop_sources", "kb_drop_chunks", "kb_drop_signatures",
                                             "kb_drop_source_vectors"), strict=True):
            dropped_key = "rowid" if key in ("pos", "rowid") else "key"
            cursor.execute(f"DELETE FROM {schema}.{table} WHERE {key} IN (SELECT {dropped_key} FROM {drop})")
            kept = cursor.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()
            copied[table] = int(kept[0]) if kept else 0
        local.execute("CREATE TEMP TABLE IF NOT EXISTS kb_send (key PRIMARY KEY) WITHOUT ROWID")
        try:
            for table, keys, column in (("sources", found.send_sources, "rowid"),
                                        ("chunks", found.send_chunks, "rowid"),
                                        ("source_signatures", found.send_signatures, "id"),
                                        ("source_vectors", found.send_source_vectors, "source_id")):
                local.execute("DELETE FROM temp.kb_send")
                local.executemany("INSERT INTO temp.kb_send VALUES (?)", [(k,) for k in keys])
                # Through a temp table: there may be more keys than a statement takes parameters.
                where = f"WHERE {column} IN (SELECT key FROM temp.kb_send)"
                if not keys:
                    sent[table] = 0
                elif table == "sources":
                    sent[table] = _send_sources(cursor, schema, local, where)
                elif table == "chunks":
                    sent[table] = _send_chunks(cursor, schema, local, where)
                elif table == "source_signatures":
                    sent[table] = _send_rows(cursor, f"{schema}.source_signatures (id, minhash)",
                                             f"SELECT id, minhash FROM source_signatures {where}", local)
                else:
                    sent[table] = _send_rows(cursor, f"{schema}.source_vectors (source_id, passages, vector)",
                                             f"SELECT source_id, passages, vector FROM source_vectors {where}", local)
        finally:
            local.execute("DROP TABLE IF EXISTS temp.kb_send")
            local.commit()  # the temp table's writes opened a transaction; an open one would block the checkpoint
        sent["files"] = _send_files(cursor, schema, build_path)
    lexical = found.lexical_sources
    passages, analysed = change_lexical(conn, schema, live_schema, "kb_drop_lexical", mirror.lexical_rows(lexical),
                                        store.lexical_rows(lexical))
    sent["lexical_passages"] = analysed
    copied["lexical_passages"] = passages - analysed
    return Sent(sent, copied, derived=True)
