"""Highlighted passages: HTML-escaped text with ``<mark>`` around the words the query matched.

FTS5's ``highlight()`` finds the matches (with the same stemming as the search), marking them
with control characters that cleaned text never contains; escaping happens after, so no passage
text can inject markup.
"""

from __future__ import annotations

import html
import re

OPEN, CLOSE = "\x02", "\x03"
_MARK = re.compile(r"<mark>.*?</mark>", re.S)


def to_html(marked: str) -> str:
    """Escape text carrying OPEN/CLOSE marks and turn the marks into ``<mark>`` elements."""
    return html.escape(marked, quote=True).replace(OPEN, "<mark>").replace(CLOSE, "</mark>")


def plain_html(text: str) -> str:
    return html.escape(text, quote=True)


def excerpt(highlighted: str, words: int = 60) -> str:
    """A window of about ``words`` words of highlighted HTML around its first mark, with ellipses."""
    tokens = highlighted.split()
    if len(tokens) <= words:
        return highlighted
    first = next((i for i, t in enumerate(tokens) if "<mark>" in t), 0)
    start = max(0, min(first - words // 4, len(tokens) - words))
    window = tokens[start : start + words]
    text = " ".join(window)
    # A mark opened before the window or closed after it would leave broken markup: balance it.
    if text.count("<mark>") > text.count("</mark>"):
        text += "</mark>"
    if text.count("</mark>") > text.count("<mark>"):
        text = "<mark>" + text
    return ("… " if start > 0 else "") + text + (" …" if start + words < len(tokens) else "")


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
