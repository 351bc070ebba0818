"""Round trips to PostgreSQL, counted from libpq's own protocol trace (for tests and benchmarks).

A round trip is one wait for the server: the client has sent something the server must answer and cannot go
on until the answer is back. On the wire that is a message after which the client waits: a simple ``Query``,
a ``Sync`` (which ends an extended-protocol statement, or a whole pipeline of them) or a ``Flush`` (a request
for the results sent so far, which psycopg makes when a pipelined result is read before the pipeline ends).
libpq's trace (``PQtrace``, psycopg's ``PGconn.trace``) writes every message the client sends (``F``) and
receives (``B``) in order, so each ``Query``, ``Sync`` or ``Flush`` the client sends is one round trip, but for
a ``Flush`` right after a ``Sync`` whose answer (``ReadyForQuery``) has not come back: psycopg ends a pipeline
with both and waits once. So:

- a statement on its own is one round trip, and so is the ``BEGIN`` psycopg sends first outside autocommit,
  and the ``COMMIT`` when a pooled connection is given back (both invisible to a count of statements);
- a pipeline of statements read after it ends is one; a pipelined result read before the pipeline ends
  costs a ``Flush`` and a wait of its own;
- statements on two connections at once are two, though they overlap in time.

Counting messages rather than timing waits makes the count the same on every run (which results the server
had sent back while the client was still sending does not change it).

Usage::

    with counted() as trips:          # every connection taken from a psycopg_pool pool while inside
        searcher.search("edge of care")
    trips.total, trips.statements    # round trips; the first statement of each
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from psycopg import pq
from psycopg_pool import ConnectionPool

# The messages after which the client waits for the server.
WAITED_ON = frozenset({"Query", "Sync", "Flush"})


def round_trips(trace: str) -> list[str]:
    """The round trips in a libpq trace (see the module's docstring): for each, the first statement the client
    sent since the previous one (the message's name when it sent none)."""
    trips: list[str] = []
    texts: list[str] = []
    synced = False  # a Sync is sent and its ReadyForQuery not yet back
    for line in trace.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue  # a statement's text spans lines: the continuation is not a message
        # With timestamps suppressed a line is: direction, length, message name, and its fields after a tab.
        direction, name, rest = parts[0], parts[2].strip(), "\t".join(parts[3:]).strip()
        if direction == "B":
            if name == "ReadyForQuery":
                synced = False
            continue
        if direction != "F":
            continue
        if name == "Query":
            texts.append(rest.strip('"')[:80])
        elif name == "Parse":  # "" "SELECT ..." n: the statement's text is the second quoted field
            fields = rest.split('"', 3)
            text = fields[3].rsplit('"', 1)[0].strip() if len(fields) > 3 else ""
            texts.append(text[:80] or "(a statement)")
        elif name == "Bind" and not texts:
            texts.append("(a prepared statement)")  # psycopg prepares a statement run often on a connection
        if name in WAITED_ON and not (name == "Flush" and synced):
            trips.append(texts[0] if texts else name)
            texts = []
        if name == "Sync":
            synced = True
        elif name != "Flush":
            synced = False
    return trips


@dataclass
class RoundTrips:
    """The round trips counted while :func:`counted` was active, in the order the connections were given back."""

    statements: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return len(self.statements)

    def add(self, trips: list[str]) -> None:
        with self.lock:
            self.statements += trips


@contextmanager
def counted() -> Iterator[RoundTrips]:
    """Count the round trips of every connection a :class:`psycopg_pool.ConnectionPool` hands out while inside
    (each traced from the moment it is taken until it is given back, the pool's own reset included)."""
    trips = RoundTrips()
    original_get, original_put = ConnectionPool.getconn, ConnectionPool.putconn
    traces: dict[int, Any] = {}

    def getconn(self: ConnectionPool, timeout: float | None = None) -> Any:
        conn = original_get(self, timeout)
        sink = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115 (closed at putconn)
        conn.pgconn.trace(sink.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        traces[id(conn)] = sink
        return conn

    def putconn(self: ConnectionPool, conn: Any) -> None:
        try:
            original_put(self, conn)
        finally:
            sink = traces.pop(id(conn), None)
            if sink is not None:
                conn.pgconn.untrace()  # flushes libpq's buffer into the file
                sink.seek(0)
                trips.add(round_trips(sink.read()))
                sink.close()

    ConnectionPool.getconn = getconn  # type: ignore[method-assign,assignment]
    ConnectionPool.putconn = putconn  # type: ignore[method-assign,assignment]
    try:
        yield trips
    finally:
        ConnectionPool.getconn = original_get  # type: ignore[method-assign]
        ConnectionPool.putconn = original_put  # type: ignore[method-assign]
