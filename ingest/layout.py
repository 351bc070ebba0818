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
from dataclasses import dataclass
from typing import Any

from haystack import Document, component

PAGE_BREAK = "\f"
# A line counts as a running header or footer when its shape is on this share of pages (and on 3 at least).
REPEAT_SHARE = 0.4
# Lines looked at from each end of a page.
EDGE_LINES = 3
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_BLOCK_START = re.compile(r"^(?:\d{1,3}(?:\.\d{1,2})*[.)]?\s+\S|[◼•▪●■\-–—*]\s|\(?[a-z]\)\s|[ivx]{1,4}[.)]\s)")
# A number opening a line (a numbered paragraph's label, or a number the page wrapped onto a new line).
_NUMBER_START = re.compile(r"^(\d{1,3})(?:\.\d{1,2})*[.)]?\s")
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


@dataclass
class Numbering:
    """The last paragraph label a document's pages have shown (its first number: 31 for "31." and "31.2"), to tell
    the next label from a number the page wrapped onto a new line."""

    last: int | None = None

    def is_label(self, number: int) -> bool:
        """Whether a line opening with ``number`` carries on the document's numbering (the same or the next)."""
        return number == 1 if self.last is None else number in (self.last, self.last + 1)


def reflow(lines: list[str], full_width: int, numbering: Numbering | None = None) -> list[str]:
    """Join lines the page wrapped; keep headings, numbered paragraphs, bullets and table cells apart.

    A line continues the one before when that one does not end a sentence and either this one
    starts in lower case or the one before ran to the margin (at least 80% of the page's widest lines).
    A number opening the line after one that ran to the margin in mid-sentence is no paragraph label unless it
    carries on the document's numbering (``numbering``, kept across its pages): "until they are well beyond /
    17. This results in delays", where paragraph 44 came last, is one sentence; taking "17." for a label dropped
    the number from the text (issue 26's second theme sample found it in Devon, Birmingham and Knowsley).
    """
    numbering = numbering if numbering is not None else Numbering()
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
        number = _NUMBER_START.match(line)
        wrapped = bool(number and previous_full and continues and not numbering.is_label(int(number[1])))
        if out and out[-1] and (not _is_block_start(line) or wrapped) and continues:
            out[-1] = f"{out[-1]} {line}"
        else:
            if number:
                numbering.last = int(number[1])
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
    out_pages, removed, numbering = [], 0, Numbering()
    for lines in pages:
        kept, gone = _strip_page(lines, running)
        removed += gone
        out_pages.append("\n".join(reflow(kept, full_width, numbering)).strip("\n"))
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
