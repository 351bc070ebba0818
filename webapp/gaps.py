"""What practitioners look for and do not find: counts of the searches that found nothing or few sources.

Kept so that leaders can see where the evidence base has gaps (the /gaps page), and kept so that nobody can
be picked out from it:

- no address, user id, cookie, browser or time of day is kept: a row is a search's words, a day and two counts;
- the words are normalised (:func:`normalise`) and a search is known by its **fingerprint**, a keyed hash of
  its words in alphabetical order. The words themselves are written down only once the fingerprint has been
  searched :data:`MIN_COUNT` times within the retention period; a search made once or twice (someone's name,
  a case reference) is never kept as words, and the page shows nothing below that count;
- rows older than :data:`RETENTION_DAYS` days are deleted, and words with them.

The file is ``gaps.sqlite`` in the data directory, beside the generations (not in one), so it survives a
re-index. Searches are counted in memory and written in one short transaction at most every
:data:`FLUSH_SECONDS` seconds or :data:`FLUSH_SEARCHES` searches, so the search path never waits on a disk
write; a write that fails (the file locked by another worker past its timeout, a full disk) is logged and the
batch dropped: these counts are never worth a failed search.

Usage::

    log = GapLog(settings.data_dir / GAPS_FILE)
    log.record("Zebra  crossing", found=0)   # after a search
    log.gaps()                               # [Gap, ...], most searched first
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import sqlite3
import threading
import time
import unicodedata
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from flask import Flask, current_app
from psycopg_pool import PoolTimeout

from index.search.facets import FacetSelection
from index.search.results import SearchResponse
from index.settings import Settings
from index.storage import generations
from index.storage.contract import GenerationBackend

logger = logging.getLogger(__name__)

GAPS_FILE = "gaps.sqlite"
# A search "found little" when it found fewer sources than this (and "nothing" at 0).
FEW = 3
# Words are kept, and shown, only for a search made at least this many times within the retention period.
MIN_COUNT = 3
RETENTION_DAYS = 180
# The in-memory counts are written when this many searches are waiting or the oldest has waited this long.
FLUSH_SEARCHES, FLUSH_SECONDS = 100, 30.0
# How long a write waits for another process holding the file before the batch is given up.
BUSY_TIMEOUT_MS = 250
# Longer queries are pasted text, not a search someone would recognise on the page: cut to this.
MAX_WORDS_CHARS = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS secret (value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS searches (
    fingerprint TEXT NOT NULL,
    day TEXT NOT NULL,
    found_none INTEGER NOT NULL DEFAULT 0,
    found_few INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (fingerprint, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS words (fingerprint TEXT PRIMARY KEY, words TEXT NOT NULL) WITHOUT ROWID;
"""

_NOT_WORD = re.compile(r"[^\w'’-]+")


def normalise(query: str) -> str:
    """The words of a search as the page shows them: Unicode-normalised, lower-case, punctuation (quotes,
    operators) dropped, spaces collapsed. Word order is kept here, for reading; :func:`words_key` ignores it."""
    text = _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", query).casefold())
    return " ".join(w.strip("'’-") for w in text.split() if w.strip("'’-"))[:MAX_WORDS_CHARS].strip()


def words_key(normalised: str) -> str:
    """What makes two searches the same gap: their distinct words in alphabetical order. The search engine
    ranks by words, not their order, so "leavers care" and "care leavers" find the same sources and are
    one gap, counted together (the page shows the wording that first reached the minimum count)."""
    return " ".join(sorted(set(normalised.split())))


@dataclass(frozen=True)
class Gap:
    words: str
    nothing: int  # searches that found no source
    little: int  # searches that found fewer than FEW sources
    last: str  # ISO day it was last searched

    @property
    def searches(self) -> int:
        return self.nothing + self.little


class GapLog:
    """The counts of one data directory's gaps file. Safe across threads; each process (gunicorn worker)
    keeps its own waiting counts and opens the file only to write them or read the page."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        # (words key, day) → [wording, nothing, little]: searches waiting to be written
        self._waiting: dict[tuple[str, str], list] = {}
        self._waiting_count = 0
        self._oldest: float | None = None
        atexit.register(self.flush)

    # -- recording (the search path) ---------------------------------------------------------------

    def record(self, query: str, found: int) -> None:
        """Count a search that found ``found`` sources, if that is nothing or little; cheap (in memory), with a
        short write now and then."""
        if found >= FEW:
            return
        wording = normalise(query)
        if not wording:
            return
        now = self._clock()
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        with self._lock:
            entry = self._waiting.setdefault((words_key(wording), day), [wording, 0, 0])
            entry[1 if found == 0 else 2] += 1
            self._waiting_count += 1
            self._oldest = self._oldest if self._oldest is not None else now
            due = self._waiting_count >= FLUSH_SEARCHES or now - self._oldest >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        """Write the waiting counts in one transaction, keep the words of searches that reached MIN_COUNT, and
        delete what is older than RETENTION_DAYS."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
            self._waiting_count, self._oldest = 0, None
        if not waiting:
            return
        try:
            with self._connect() as conn:
                secret = self._secret(conn)
                rows = [(self._fingerprint(secret, key), day, wording, nothing, little)
                        for (key, day), (wording, nothing, little) in waiting.items()]
                conn.executemany(self._sql(
                    "INSERT INTO {searches} AS s (fingerprint, day, found_none, found_few) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (fingerprint, day) DO UPDATE SET found_none = s.found_none + excluded.found_none, "
                    "found_few = s.found_few + excluded.found_few"), [(f, d, n, x) for f, d, _, n, x in rows])
                since = self._since()
                for fingerprint, _, wording, _, _ in rows:
                    total = conn.execute(self._sql("SELECT SUM(found_none + found_few) FROM {searches} WHERE "
                                                   "fingerprint = ? AND day >= ?"), (fingerprint, since)
                                         ).fetchone()[0] or 0
                    if total >= MIN_COUNT:
                        conn.execute(self._sql("INSERT INTO {words} (fingerprint, words) VALUES (?, ?) "
                                               "ON CONFLICT (fingerprint) DO NOTHING"), (fingerprint, wording))
                self._expire(conn, since)
        except self._errors as exc:
            logger.warning("Searches that found little were not counted (%d dropped): %s",
                           sum(n + x for _, n, x in waiting.values()), exc)

    # -- reading (the page) ------------------------------------------------------------------------

    def gaps(self, min_count: int = MIN_COUNT) -> list[Gap]:
        """The searches made at least ``min_count`` times (never fewer than MIN_COUNT) within the retention
        period that found nothing or little, most searched first."""
        self.flush()
        if not self._exists():
            return []
        try:
            with self._connect() as conn:
                rows = conn.execute(self._sql(
                    "SELECT w.words, SUM(s.found_none), SUM(s.found_few), MAX(s.day) FROM {searches} s "
                    "JOIN {words} w ON w.fingerprint = s.fingerprint WHERE s.day >= ? GROUP BY s.fingerprint, w.words "
                    "HAVING SUM(s.found_none + s.found_few) >= ?"),
                    (self._since(), max(min_count, MIN_COUNT))).fetchall()
        except self._errors as exc:
            logger.warning("The searches that found little cannot be read: %s", exc)
            return []
        gaps = [Gap(words, nothing, little, last) for words, nothing, little, last in rows]
        return sorted(gaps, key=lambda g: (-g.searches, -g.nothing, g.words))

    # -- the file ----------------------------------------------------------------------------------

    _errors: ClassVar[tuple[type[BaseException], ...]] = (sqlite3.Error, OSError)
    _TABLES: ClassVar[dict[str, str]] = {"searches": "searches", "words": "words", "secret": "secret"}

    def _sql(self, statement: str) -> str:
        """A statement with this store's table names (and placeholders)."""
        return statement.format(**self._TABLES)

    def _exists(self) -> bool:
        return self.path.exists()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction (committed, or rolled back on an error), closed after."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            # Deleted words are overwritten, not left in the file's free pages.
            conn.execute("PRAGMA secure_delete = ON")
            conn.executescript(_SCHEMA)
            with conn:
                yield conn
        finally:
            conn.close()

    @staticmethod
    def _secret(conn: sqlite3.Connection) -> bytes:
        """The fingerprints' key, made on first use: without it a fingerprint cannot be checked against a
        guessed search from outside the file."""
        row = conn.execute("SELECT value FROM secret").fetchone()
        if row is None:
            conn.execute("INSERT INTO secret (value) VALUES (?)", (secrets.token_hex(32),))
            row = conn.execute("SELECT value FROM secret").fetchone()
        return bytes.fromhex(row[0])

    @staticmethod
    def _fingerprint(secret: bytes, key: str) -> str:
        return hmac.new(secret, key.encode("utf-8"), hashlib.sha256).hexdigest()

    def _since(self) -> str:
        return (datetime.fromtimestamp(self._clock(), UTC).date() - timedelta(days=RETENTION_DAYS - 1)).isoformat()

    def _expire(self, conn: Any, since: str) -> None:
        """Forget the days before ``since``, and the words of searches no longer made MIN_COUNT times since."""
        conn.execute(self._sql("DELETE FROM {searches} WHERE day < ?"), (since,))
        conn.execute(self._sql("DELETE FROM {words} WHERE fingerprint NOT IN (SELECT fingerprint FROM {searches} "
                               "GROUP BY fingerprint HAVING SUM(found_none + found_few) >= ?)"), (MIN_COUNT,))


class SharedGapLog(GapLog):
    """The gap counts of every replica in one place: tables of the shared store's catalogue schema (``kb``,
    created with it), so that /gaps counts the searches made on all of them. The same rules: counted in memory,
    written now and then, words kept only from MIN_COUNT, nothing about who searched."""

    _errors: ClassVar[tuple[type[BaseException], ...]] = (psycopg.Error, PoolTimeout, OSError)
    _TABLES: ClassVar[dict[str, str]] = {"searches": "kb.gap_searches", "words": "kb.gap_words",
                                         "secret": "kb.gap_secret"}

    def __init__(self, backend: GenerationBackend, clock: Callable[[], float] = time.time) -> None:
        super().__init__(Path("postgresql"), clock)
        self.backend = backend
        _shared_logs.add(self)

    def _sql(self, statement: str) -> str:
        return super()._sql(statement).replace("?", "%s")

    def _exists(self) -> bool:
        return True

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        shared = self.backend.shared_connection()
        if shared is None:
            raise RuntimeError("SharedGapLog needs a backend every replica shares")
        with shared as conn:
            yield _Statements(conn)

    def _secret(self, conn: Any) -> bytes:  # type: ignore[override]  # the same, made once for all replicas
        conn.execute("INSERT INTO kb.gap_secret (one, value) VALUES (true, %s) ON CONFLICT (one) DO NOTHING",
                     (secrets.token_hex(32),))
        return bytes.fromhex(conn.execute("SELECT value FROM kb.gap_secret").fetchone()[0])


_shared_logs: weakref.WeakSet[SharedGapLog] = weakref.WeakSet()


def flush_shared() -> None:
    """Write every shared log's waiting counts now (before the database goes away: tests, a shutdown hook)."""
    for log in list(_shared_logs):
        log.flush()


class _Statements:
    """sqlite3's ``execute`` / ``executemany`` on a psycopg connection."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(sql, list(rows))


def gap_log() -> GapLog:
    """This app's gap counts (made by :func:`init_app`)."""
    return current_app.extensions["kb_gaps"]


def record_search(query: str, facets: FacetSelection, response: SearchResponse) -> None:
    """The search path's one call: count a search for words, unfiltered, on its first page, if it found
    nothing or little. A filtered search finding nothing says more about the filters than the evidence, and
    later pages are the same search again."""
    if not query.strip() or facets or response.page != 1:
        return
    gap_log().record(query, response.total)


def init_app(app: Flask, settings: Settings) -> None:
    if settings.store_url and not app.config.get("KB_GAPS_FILE"):
        app.extensions["kb_gaps"] = SharedGapLog(generations(settings))
        return
    path = app.config.get("KB_GAPS_FILE") or Path(settings.data_dir) / GAPS_FILE
    app.extensions["kb_gaps"] = GapLog(Path(path))
