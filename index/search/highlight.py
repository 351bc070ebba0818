"""Highlighted passages: HTML-escaped text with ``<mark>`` around the words the query matched.

FTS5's ``highlight()`` finds the matches (with the same stemming as the search), marking them
with control characters that cleaned text never contains; escaping happens after, so no passage
text can inject markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

OPEN, CLOSE = "\x02", "\x03"
_MARK = re.compile(r"<mark>.*?</mark>", re.S)


def to_html(marked: str) -> str:
    """Escape text carrying OPEN/CLOSE marks and turn the marks into ``<mark>`` elements."""
    return html.escape(marked, quote=True).replace(OPEN, "<mark>").replace(CLOSE, "</mark>")


def plain_html(text: str) -> str:
    return html.escape(text, quote=True)


_MARKED_WORD = re.compile(r"<mark>(.*?)(?:</mark>|$)", re.S)
_WORD_CHARS = re.compile(r"[^\W_]+")


def excerpt(highlighted: str, words: int = 60, weights: Callable[[str], float] | None = None) -> str:
    """A window of about ``words`` words of highlighted HTML, with ellipses: the window holding the most weight
    of distinct marked words (``weights`` of a marked word, e.g. its idf in the index: the rarest matched words
    first, so an excerpt never shows a common word of the query and leaves out a rare one; issue 23, 6), a
    quarter of it before its first mark; without ``weights``, around the first mark."""
    tokens = highlighted.split()
    if len(tokens) <= words:
        return highlighted
    first = next((i for i, t in enumerate(tokens) if "<mark>" in t), 0)
    if weights is not None:
        marked = [(i, word) for i, t in enumerate(tokens) if "<mark>" in t
                  for word in _marked_words(t)]
        best: tuple[float, int, int] | None = None
        for at, _ in marked:  # windows opening at a mark: the best one opens at one of them
            inside = [(i, word) for i, word in marked if at <= i < at + words]
            value = sum(weights(word) for word in {word for _, word in inside})
            if best is None or value > best[0] + 1e-9:
                best = (value, at, max(i for i, _ in inside))
        if best is not None:
            # A quarter of the window before its first mark, as long as its last mark stays inside.
            _, at, last = best
            start = max(0, min(max(at - words // 4, last - words + 1), len(tokens) - words))
            return _window(tokens, start, words)
    start = max(0, min(first - words // 4, len(tokens) - words))
    return _window(tokens, start, words)


def _window(tokens: list[str], start: int, words: int) -> str:
    """``words`` tokens of highlighted HTML from ``start``, marks balanced, with ellipses."""
    window = tokens[start : start + words]
    text = " ".join(window)
    # A mark opened before the window or closed after it would leave broken markup: balance it.
    if text.count("<mark>") > text.count("</mark>"):
        text += "</mark>"
    if text.count("</mark>") > text.count("<mark>"):
        text = "<mark>" + text
    return ("… " if start > 0 else "") + text + (" …" if start + words < len(tokens) else "")


def _marked_words(token: str) -> list[str]:
    """The lower-cased words marked in one whitespace token of highlighted HTML."""
    return [w.lower() for part in _MARKED_WORD.findall(html.unescape(token)) for w in _WORD_CHARS.findall(part)]


def unmark_names(marked: str, names: list[str]) -> str:
    """``marked`` without the marks that fall inside an occurrence of one of ``names`` (case ignored): a
    publisher's name in a passage's header line ("Community Care") is not a match for "care"."""
    if OPEN not in marked:
        return marked
    plain = marked.replace(OPEN, "").replace(CLOSE, "")
    lowered = plain.lower()
    names = [n for n in names if n.strip() and n.strip().lower() in lowered]
    spans = [(m.start(), m.end()) for name in names if name.strip()
             for m in re.finditer(re.escape(name.strip()), plain, re.I)]
    if not spans:
        return marked
    out: list[str] = []
    at, dropping = 0, False  # at: position in the plain text
    for char in marked:
        if char == OPEN:
            dropping = any(start <= at < end for start, end in spans)
            if not dropping:
                out.append(char)
        elif char == CLOSE:
            if not dropping:
                out.append(char)
            dropping = False
        else:
            out.append(char)
            at += 1
    return "".join(out)
