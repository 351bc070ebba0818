"""Reads as data: the statements of one answer and how their rows make it.

A store's method builds its :class:`Read` and asks it (:func:`ask`: one round trip, its statements pipelined);
a search's batch (:mod:`index.storage.postgres.batch`) sends the reads of several methods in one pipeline and
answers each from its own rows. So each statement is written once, whichever way it is sent.

Usage::

    read = Read(((sql, params),), lambda rows: {r[0]: r[1] for r in rows[0]})
    answer = ask(pool, read)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

T = TypeVar("T")
U = TypeVar("U")

Statement = tuple[Any, Sequence[Any] | Mapping[str, Any]]


@dataclass(frozen=True)
class Read(Generic[T]):
    """Statements, and the answer their rows make (``answer`` gets each statement's rows, in order)."""

    statements: tuple[Statement, ...]
    answer: Callable[[list[list[tuple]]], T]

    @staticmethod
    def done(value: U) -> Read[U]:
        """An answer known without asking (nothing to search)."""
        return Read((), lambda _: value)

    def then(self, change: Callable[[T], U]) -> Read[U]:
        """The same statements, their answer changed."""
        return Read(self.statements, lambda rows: change(self.answer(rows)))


class Nearest(NamedTuple):
    """A vector search's passages as ``(rowid, cosine)``, nearest first, their texts when asked for, and the sources
    close in meaning when asked for (``PgDocumentStore.sources_near``)."""

    found: list[tuple[int, float]]
    texts: dict[int, tuple[str, str]]
    near: dict[str, tuple[int, float]]


def ask(pool: Any, read: Read[T]) -> T:
    """Send ``read`` on a connection of ``pool`` and return its answer: one round trip (none for an answer known
    without asking), its statements pipelined when there are several."""
    if not read.statements:
        return read.answer([])
    with pool.connection() as conn:
        if len(read.statements) == 1:
            return read.answer([conn.execute(*read.statements[0]).fetchall()])
        with conn.pipeline():
            cursors = [conn.execute(query, params) for query, params in read.statements]
        # Read after the pipeline's end: its one Sync has brought every result back (reading one earlier would
        # ask the server to flush, a wait of its own).
        return read.answer([cursor.fetchall() for cursor in cursors])
