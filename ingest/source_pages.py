"""A PDF page for "Check it at the source" (``webapp/source_page.py``): its size and the boxes of a sentence
on it, and the page rendered to a PNG, by PDFium.

Light on purpose: these functions run in the sandbox's children (``ingest/sandbox.py``), which import
this module and pypdfium2 (both preloaded in the fork server), not the web app.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ingest.sandbox import preload

preload(__name__, "pypdfium2")

# The widest page image rendered, in pixels.
MAX_WIDTH_PX = 1400


@dataclass(frozen=True)
class Box:
    """A rectangle on the page, in PDF points from the page's top left."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class PageLayout:
    """A page's size in points and the boxes of the sentence found on it (none when it was not found)."""

    width: float
    height: float
    boxes: tuple[Box, ...]


def _squash(text: str) -> str:
    """Text without spaces or line breaks, in compatibility form (ligatures split), for matching."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace()).lower()


def locate(path: str, page_number: int, sentence: str) -> PageLayout:
    """The page's size and the line boxes of ``sentence`` on it (module-level: runs in the sandbox).

    The sentence is matched without spaces and line breaks, in compatibility form, so a line break, a
    hyphen's space or a ligature does not hide it; the boxes are PDFium's rectangles over its characters.
    """
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        page = pdf[page_number - 1]
        width, height = page.get_size()
        textpage = page.get_textpage()
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count else ""
        kept: list[int] = []
        squashed: list[str] = []
        for index, ch in enumerate(text[:count]):
            piece = _squash(ch)
            for part in piece:
                kept.append(index)
                squashed.append(part)
        haystack = "".join(squashed)
        wanted = _squash(sentence)
        boxes: tuple[Box, ...] = ()
        # The whole sentence, else its start or end (a page break, or text the layout reader changed).
        for needle in (wanted, wanted[:80], wanted[:40], wanted[-40:]):
            at = haystack.find(needle) if len(needle) >= 12 else -1
            if at >= 0:
                first, last = kept[at], kept[at + len(needle) - 1]
                rects = [textpage.get_rect(i) for i in range(textpage.count_rects(first, last - first + 1))]
                boxes = tuple(Box(left, height - top, right - left, top - bottom)
                              for left, bottom, right, top in rects if right > left and top > bottom)
                break
        return PageLayout(width, height, boxes)
    finally:
        pdf.close()


def render(path: str, page_number: int, target: str) -> str:
    """Render one page to a PNG at ``target``, at most :data:`MAX_WIDTH_PX` wide (runs in the sandbox)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        page = pdf[page_number - 1]
        width, _ = page.get_size()
        scale = min(2.0, MAX_WIDTH_PX / max(width, 1.0))
        image = page.render(scale=scale).to_pil()
        partial = Path(target).with_suffix(".part")
        image.save(partial, format="PNG", optimize=True)
        partial.replace(target)
        return target
    finally:
        pdf.close()
