"""Read a paginated document (a PDF) as a person reads it: no running headers, footers or page numbers,
words broken across lines joined, lines wrapped by the page re-flowed into paragraphs, and numbered
paragraphs, bullets and headings kept on lines of their own.

A running header is found generally, not by publisher: a line near the top or bottom of a page
whose shape (letters kept, digits as ``#``) recurs on at least ``REPEAT_SHARE`` of the pages
("Inspection of Dorset local authority children's services" / "27 September to 8 October 2021 4").
Page breaks (form feeds) are kept, so passages still know their page.

Usage::

    LayoutReader().run(documents=docs)["documents"]
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from haystack import Document, component

PAGE_BREAK = "\f"
# A line counts as a running header or footer when its shape is on this share of pages (and on 3 at least).
REPEAT_SHARE = 0.4
# Lines looked at from each end of a page.
EDGE_LINES = 3
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_BLOCK_START = re.compile(r"^(?:\d{1,3}(?:\.\d{1,2})*[.)]?\s+\S|[◼•▪●■\-–—*]\s|\(?[a-z]\)\s|[ivx]{1,4}[.)]\s)")
_SENTENCE_END = re.compile(r"[.!?:;…”\"’)]$")
_HYPHENATED = re.compile(r"([A-Za-z]{2,})-\n([a-z]{2,})")


def shape(line: str) -> str:
    """A line's shape for comparing pages: case, spacing and digits ignored."""
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def running_lines(pages: list[list[str]]) -> set[str]:
    """Shapes of lines that recur at the top or bottom of many pages."""
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        content = [line for line in lines if line.strip()]
        edges = content[:EDGE_LINES] + content[-EDGE_LINES:]
        counts.update({shape(line) for line in edges})
    needed = max(3, int(REPEAT_SHARE * len(pages) + 0.999))
    return {s for s, n in counts.items() if n >= needed and len(s) > 1}


def _strip_page(lines: list[str], running: set[str]) -> tuple[list[str], int]:
    content_idx = [i for i, line in enumerate(lines) if line.strip()]
    edges = set(content_idx[:EDGE_LINES] + content_idx[-EDGE_LINES:])
    kept, removed = [], 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if i in edges and (shape(stripped) in running or _PAGE_NUMBER.match(stripped)):
            removed += 1
            continue
        kept.append(line)
    return kept, removed


def _is_block_start(line: str) -> bool:
    return bool(_BLOCK_START.match(line))


def reflow(lines: list[str], full_width: int) -> list[str]:
    """Join lines the page wrapped; keep headings, numbered paragraphs, bullets and table cells apart.

    A line continues the one before when that one does not end a sentence and either this one
    starts in lower case or the one before ran to the margin (at least 80% of the page's widest lines).
    """
    out: list[str] = []
    previous_full = False
    for raw in lines:
        line = " ".join(raw.split())
        if not line:
            if out and out[-1] != "":
                out.append("")
            previous_full = False
            continue
        continues = line[0].islower() or (previous_full and not _SENTENCE_END.search(out[-1] if out else ""))
        if out and out[-1] and not _is_block_start(line) and continues:
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        previous_full = len(raw.rstrip()) >= 0.8 * full_width
    return out


def join_hyphenated(text: str) -> str:
    """'commission-\\ning' → 'commissioning' when the joined word is used elsewhere in the text, else
    'child-\\ncentred' → 'child-centred'."""
    words = set(re.findall(r"[a-z]{4,}", text.lower()))

    def join(match: re.Match[str]) -> str:
        whole = match[1] + match[2]
        return whole if whole.lower() in words else f"{match[1]}-{match[2]}"

    return _HYPHENATED.sub(join, text)


def read_pages(text: str) -> tuple[str, int]:
    """The text with running lines and page numbers removed and lines re-flowed; and how many lines went."""
    text = join_hyphenated(text.replace("\r\n", "\n").replace("\r", "\n"))
    pages = [page.split("\n") for page in text.split(PAGE_BREAK)]
    running = running_lines(pages)
    widths = sorted(len(line.rstrip()) for lines in pages for line in lines if line.strip())
    full_width = widths[int(len(widths) * 0.9)] if widths else 0
    out_pages, removed = [], 0
    for lines in pages:
        kept, gone = _strip_page(lines, running)
        removed += gone
        out_pages.append("\n".join(reflow(kept, full_width)).strip("\n"))
    return PAGE_BREAK.join(out_pages), removed


@component
class LayoutReader:
    """Re-read paginated documents (PDFs) as a person reads them; others pass unchanged (a Haystack component)."""

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        out = []
        for doc in documents:
            if doc.meta.get("format") != "pdf" or not doc.content:
                out.append(doc)
                continue
            text, removed = read_pages(doc.content)
            out.append(Document(id=doc.id, content=text, meta={**doc.meta, "layout_lines_removed": removed}))
        return {"documents": out}
