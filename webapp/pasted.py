"""Pasted texts held for a short while under a random id, so that a case note never travels in a URL.

A practitioner pastes a paragraph (often from a case note) to find "more like this". In a URL it would
stay in the browser's history, in every link of the results page and in any proxy's log; instead the
search form posts it, the text is held here under a random id, and the results page is
``/search?r=<id>``. An id is worth nothing once the text has gone:

- the text is held for :data:`TTL_SECONDS` after it was last used, then deleted; at most
  :data:`MAX_HELD` texts are held (the oldest go first);
- it is never written to a disk: under ``kb serve`` the gunicorn workers share a directory that
  ``kb serve`` makes in ``/dev/shm`` (memory) and removes when it stops (``$KB_PASTED_DIR``, see
  :func:`held_texts_dir`); under Flask's own server (tests, ``--dev``) the texts live in the process.

Usage::

    texts = pasted_texts()           # in a request
    ref = texts.put(text)            # a 22-character id
    texts.get(ref)                   # the text, or None when it is no longer held
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app, g

from index.errors import QueryError
from index.search.query import parse_query

logger = logging.getLogger(__name__)

# The directory the workers of one `kb serve` share (set by held_texts_dir before the app is made).
PASTED_ENV = "KB_PASTED_DIR"
# A text is forgotten this long after it was last used (a results page opened, a page of it turned).
TTL_SECONDS = 3600
# At most this many texts are held at once (about 60 MB at the longest query); the oldest go first.
MAX_HELD = 10_000
# A query longer than this many characters is treated as pasted text even when it has few words.
PASTED_CHARS = 200
_REF = re.compile(r"[A-Za-z0-9_-]{22}")


class ExpiredTextError(QueryError):
    """An ``r=`` id whose text is no longer held (forgotten after an hour, or held by another server)."""


class HeldTexts(Protocol):
    def put(self, text: str) -> str: ...

    def get(self, ref: str) -> str | None: ...


def new_ref() -> str:
    return secrets.token_urlsafe(16)


def is_ref(value: str) -> bool:
    return bool(_REF.fullmatch(value))


class MemoryTexts:
    """Texts held in this process (Flask's own server: one process)."""

    def __init__(self, ttl: float = TTL_SECONDS, max_held: int = MAX_HELD) -> None:
        self.ttl, self.max_held = ttl, max_held
        self._texts: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def put(self, text: str) -> str:
        ref = new_ref()
        now = time.monotonic()
        with self._lock:
            self._texts = {key: (held, used) for key, (held, used) in self._texts.items() if now - used < self.ttl}
            while len(self._texts) >= self.max_held:
                del self._texts[min(self._texts, key=lambda key: self._texts[key][1])]
            self._texts[ref] = (text, now)
        return ref

    def get(self, ref: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            held = self._texts.get(ref)
            if held is None or now - held[1] >= self.ttl:
                self._texts.pop(ref, None)
                return None
            self._texts[ref] = (held[0], now)
            return held[0]


class DirectoryTexts:
    """Texts held as files in a directory the workers share (in memory: ``/dev/shm``); a file's
    modification time is when its text was last used."""

    def __init__(self, path: Path, ttl: float = TTL_SECONDS, max_held: int = MAX_HELD) -> None:
        self.path, self.ttl, self.max_held = path, ttl, max_held

    def put(self, text: str) -> str:
        self._prune()
        ref = new_ref()
        partial = self.path / f".{ref}.tmp"
        partial.write_text(text, encoding="utf-8")
        partial.replace(self.path / ref)  # whole or absent: another worker never reads half a text
        return ref

    def get(self, ref: str) -> str | None:
        if not is_ref(ref):
            return None
        path = self.path / ref
        try:
            if time.time() - path.stat().st_mtime >= self.ttl:
                path.unlink(missing_ok=True)
                return None
            text = path.read_text(encoding="utf-8")
            os.utime(path)
        except FileNotFoundError:
            return None
        return text

    def _prune(self) -> None:
        now = time.time()
        held: list[tuple[float, Path]] = []
        for path in self.path.iterdir():
            with contextlib.suppress(FileNotFoundError):  # another worker removed it meanwhile
                used = path.stat().st_mtime
                if now - used >= self.ttl:
                    path.unlink(missing_ok=True)
                else:
                    held.append((used, path))
        for _, path in sorted(held)[: max(0, len(held) - self.max_held + 1)]:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def held_texts_dir() -> Iterator[Path]:
    """A directory in memory (``/dev/shm`` where there is one) for the workers' pasted texts, in
    ``$KB_PASTED_DIR`` while the server runs, removed with everything in it when it stops."""
    shm = Path("/dev/shm")
    made = Path(tempfile.mkdtemp(prefix="kb-pasted-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None))
    made.chmod(0o700)
    os.environ[PASTED_ENV] = str(made)
    try:
        yield made
    finally:
        os.environ.pop(PASTED_ENV, None)
        shutil.rmtree(made, ignore_errors=True)


def init_app(app: Flask) -> None:
    configured = os.environ.get(PASTED_ENV)
    texts: HeldTexts = DirectoryTexts(Path(configured)) if configured and Path(configured).is_dir() else MemoryTexts()
    app.extensions["kb_pasted"] = texts


def pasted_texts() -> HeldTexts:
    return current_app.extensions["kb_pasted"]


def is_pasted(q: str) -> bool:
    """Whether a query is pasted text (a paragraph, or anything over :data:`PASTED_CHARS` characters)
    rather than words typed to search for: such a query is held here, never put in a URL."""
    if len(q) > PASTED_CHARS:
        return True
    try:
        return parse_query(q).is_long
    except QueryError:
        return False


def ref_for(q: str) -> str:
    """The id of a pasted text in this request (held on first use, the same id for every link of a page)."""
    refs: dict[str, str] = g.setdefault("kb_pasted_refs", {})
    if q not in refs:
        refs[q] = pasted_texts().put(q)
    return refs[q]


def text_for(ref: str) -> str:
    """The pasted text an ``r=`` id stands for.

    :raises ExpiredTextError: when it is no longer held, saying what to do.
    """
    text = pasted_texts().get(ref) if is_ref(ref) else None
    if text is None:
        raise ExpiredTextError("The text you pasted is no longer held: pasted text is kept for an hour at most, "
                               "and never saved. Paste it into the search box again.")
    g.setdefault("kb_pasted_refs", {})[text] = ref
    return text


def query_args(q: str) -> dict[str, Any]:
    """The URL parameter a query travels as: ``q`` for words typed, ``r`` (an id) for pasted text."""
    if not q:
        return {}
    return {"r": ref_for(q)} if is_pasted(q) else {"q": q}
