"""What a search result's passage cites: the page, or the thread element, of its best-matching sentence.

A passage can span two PDF pages or pack several Storify elements; citing its first page or first
element points at the wrong place when the match is further on. Given the passage's stored meta
and its text as highlighted for the query (matches wrapped in :data:`index.search.highlight.OPEN` /
``CLOSE``), :func:`best_citation` finds the sentence with the most distinct matched terms and
cites the page it is on (a page range when it spans two) and, for threads, the element holding it
(author, date, link).

Usage (at query time, per passage)::

    from index.search.citations import best_citation
    cited = best_citation(hit.where, marked.get(hit.rowid))  # None when the passage has nothing to cite
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from index.search.highlight import CLOSE, OPEN
from index.storage.contract import PassageMeta

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n+")


@dataclass(frozen=True)
class Citation:
    """Where the best-matching sentence is: page (and last page, when it spans two) and thread element."""

    page: int | None = None
    page_end: int | None = None
    author: str | None = None
    date: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def element(self) -> dict[str, str]:
        """The thread element cited (author, date, link), as the JSON contract's ``citation`` gives it."""
        return {k: v for k, v in (("author", self.author), ("date", self.date), ("url", self.url)) if v is not None}


def _unmark(marked: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Plain text and the (start, end, term) of each marked match in it."""
    plain: list[str] = []
    matches: list[tuple[int, int, str]] = []
    position, opened, first_piece = 0, None, 0
    for piece in re.split(f"([{OPEN}{CLOSE}])", marked):
        if piece == OPEN:
            opened, first_piece = position, len(plain)
        elif piece == CLOSE:
            if opened is not None:
                matches.append((opened, position, "".join(plain[first_piece:]).lower()))
            opened = None
        else:
            plain.append(piece)
            position += len(piece)
    return "".join(plain), matches


def best_sentence(marked_text: str) -> tuple[int, int] | None:
    """(start, end) in the unmarked passage of the sentence with the most distinct matched terms
    (then the most matches; the first on a tie), or None when nothing is marked."""
    plain, matches = _unmark(marked_text)
    if not matches:
        return None
    bounds, start = [], 0
    for cut in _SENTENCE_END.finditer(plain):
        bounds.append((start, cut.start()))
        start = cut.end()
    bounds.append((start, len(plain)))
    best, best_key = None, (0, 0)
    for s_start, s_end in bounds:
        inside = [m for m in matches if s_start <= m[0] < s_end]
        key = (len({m[2] for m in inside}), len(inside))
        if key > best_key:
            best, best_key = (s_start, s_end), key
    return best


def best_citation(where: PassageMeta, marked_text: str | None) -> Citation | None:
    """The citation of a passage for this query; see the module docstring.

    :param where: the passage's meta (:attr:`PassageHit.where`: its start, pages and where they begin in it,
        thread elements, as :class:`ingest.split.PassageSplitter` writes them).
    :param marked_text: the passage text with matches between ``OPEN`` and ``CLOSE``, or None.
    :returns: its :class:`Citation` (page, last page, thread element); None when the passage has neither a
        page nor a citation.
    """
    sentence = best_sentence(marked_text) if marked_text else None
    page, page_end = where.page, where.page_end
    if page is not None and page_end is not None and page_end == page:
        page_end = None
    if sentence and where.page_offsets:
        page = where.page_at(sentence[0])
        last = where.page_at(max(sentence[0], sentence[1] - 1))
        page_end = last if last != page else None
    element = where.citation
    if where.citations:
        element = where.citations[0]
        if sentence:
            absolute = where.start + sentence[0]
            element = next((c for c in where.citations if c.start <= absolute < c.end), element)
    cited = Citation(page=page, page_end=page_end, author=element.author if element else None,
                     date=element.date if element else None, url=element.url if element else None)
    return cited if cited.to_dict() else None
