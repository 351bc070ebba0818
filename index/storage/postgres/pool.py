"""PostgreSQL for the shared-store backend: connections, the catalogue schema and per-generation schemas.

The catalogue lives in the schema ``kb`` (which generations exist, which is live, run reports);
each published generation is a schema of its own, ``kbg_<id>``, holding its sources, passages
(with pgvector vectors), lexical postings and small files. Nothing here is user text: schema
names are derived from generation ids, which this code makes.

Usage::

    pool = pool_for("postgresql://kb@/kb?host=/run/postgresql")
    with pool.connection() as conn:
        conn.execute(f"SELECT count(*) FROM {gen_schema(gen_id)}.chunks")
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool

CATALOGUE = "kb"
CONNECT_TIMEOUT = 10.0
_EXTENSION_LOCK = 0x6B62_0003
_GEN_PREFIX = "kbg_"
_ID = re.compile(r"^[0-9A-Za-z_-]{1,48}$")
_pools: dict[tuple[int, str, bool], ConnectionPool] = {}
_pools_lock = threading.Lock()


def gen_schema(gen_id: str) -> str:
    """The schema name of a generation (its id with dashes as underscores, lower case)."""
    if not _ID.match(gen_id):
        raise ValueError(f"Not a generation id: {gen_id!r}")
    return _GEN_PREFIX + gen_id.replace("-", "_").lower()


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


def _configure(conn: psycopg.Connection) -> None:
    try:
        register_vector(conn)
    except psycopg.ProgrammingError:  # a new database: the extension is created once, by the first to connect
        conn.rollback()
        with conn.transaction():  # a transaction of its own on a reader's autocommit connection too
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_EXTENSION_LOCK,))  # two connections at once
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)


def connect(url: str) -> psycopg.Connection:
    """One connection (autocommit off) with pgvector's types registered."""
    conn = psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT))
    _configure(conn)
    return conn


def pool_for(url: str, max_size: int = 8, autocommit: bool = False) -> ConnectionPool:
    """A connection pool per URL, shared by every store of the process (generations come and go; the pool stays).

    ``autocommit``: the pool readers use. A statement outside autocommit costs two more round trips than the
    statement itself (psycopg's ``BEGIN`` before it, and the ``COMMIT`` when the pool takes the connection back);
    a reader's statement, or pipeline of them (one implicit transaction up to its ``Sync``), needs neither.
    """
    # Keyed by process too: a pool's threads and sockets do not survive fork (gunicorn's workers fork from a
    # master that may have opened one), so a forked worker opens its own.
    key = (os.getpid(), url, autocommit)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            # A request waits at most CONNECT_TIMEOUT for a connection, then fails with a clear message.
            pool = ConnectionPool(url, min_size=1, max_size=max_size, configure=_configure, open=True,
                                  name="kb-read" if autocommit else "kb-store", timeout=CONNECT_TIMEOUT,
                                  kwargs={"autocommit": True} if autocommit else None)
            _pools[key] = pool
        return pool


def close_pools() -> None:
    """Close every pool (tests, and a process that forks workers: pools do not survive ``fork``)."""
    with _pools_lock:
        pools = [pool for (pid, _, _), pool in _pools.items() if pid == os.getpid()]
        _pools.clear()
    for pool in pools:
        pool.close()



class ProcessPool:
    """The pool of *this* process for a URL, looked up at each use: an object made before gunicorn forks its
    workers (a store opened at start) must not keep the master's pool, whose threads the workers lack.

    :param autocommit: the readers' pool (:func:`pool_for`).
    """

    def __init__(self, url: str, autocommit: bool = False) -> None:
        self.url = url
        self.autocommit = autocommit

    def connection(self, timeout: float | None = None) -> Any:
        return pool_for(self.url, autocommit=self.autocommit).connection(timeout=timeout)


def close_pool(url: str) -> None:
    """Close this process's pool for ``url`` (a database that is going away: tests make one per test)."""
    with _pools_lock:
        pools = [_pools.pop((os.getpid(), url, autocommit), None) for autocommit in (False, True)]
    for pool in pools:
        if pool is not None:
            pool.close()
