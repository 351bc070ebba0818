"""PDF reports: text page by page, pages separated by form feeds so passages know their page.

Two extractors are tried where needed: pypdfium2 first (PDFium, about 20 times faster than pypdf
and better on CJK and CID fonts), then pypdf for each page whose pypdfium2 text is missing or
garbled — decided by :func:`text_quality`, a measured check of the text itself (share of
characters that are unassigned, private-use, stray combining marks or glyph names, and of words
mixing scripts), never by file name — and for each page in a right-to-left script, where PDFium
can give the letters in visual order (reversed on a rotated page), which no character statistic
sees: pypdf's text is kept there unless it scores worse. Metadata is read apart from the text,
so a damaged date or title never rejects readable pages.

Refused, each with its own reason: encrypted with a password, no text layer (a scan: OCR is
needed), damaged beyond reading, glyph junk, and too little text to be a source
(:data:`MIN_TEXT_CHARS` characters and :data:`MIN_DISTINCT_WORDS` distinct words).
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.converters.base import FileConverter
from ingest.failures import ConversionError
from ingest.formats import Format, register
from ingest.sandbox import preload, run_limited

# Imported once in the sandbox's fork server, not by every child.
preload(__name__, "pypdf", "pypdfium2")

logger = logging.getLogger(__name__)

# Below this many non-space characters, or this many distinct words, a PDF is a label, a form
# skeleton or a test stub ("Hello, world!"), not a source anyone would cite.
MIN_TEXT_CHARS = 40
MIN_DISTINCT_WORDS = 2
# A page whose pypdfium2 text scores below this is read again with pypdf (the better one is kept).
GOOD_QUALITY = 0.9
# A document whose best text scores below this is glyph junk and refused.
JUNK_QUALITY = 0.5

_GLYPH_NAMES = re.compile(r"(?:/(?:g|G|uni|cid|glyph|[A-Za-z]{1,3})\d+[A-Za-z0-9]*){2,}|(?:/g\d+)+|\(cid:\d+\)")
_TOKEN = re.compile(r"\S+")
# Letters of scripts written right to left (Hebrew, Arabic and their supplements and presentation forms).
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
# PDFium's mark for a hyphen it cannot place (Word's soft and non-breaking hyphens): "multi\ufffeagency".
_PDFIUM_HYPHEN = "\ufffe"
# PDFium writes no space where the PDF moves the pen instead of writing one, which glues a numbered
# paragraph's label to its text ("10.Ensure that…", 1,737 times in the 284 inspections, where pypdf
# reads "10. Ensure"); the layout reader knows a numbered paragraph by that space.
_GLUED_LABEL = re.compile(r"(?m)^(\d{1,3}\.)(?=[A-Z‘“'\"(])")
# Two lines further apart than this many times the page's usual line step are two paragraphs.
PARAGRAPH_GAP = 1.4
# A line's usual step is about this many times its type size (single spacing).
LINE_STEP = 1.2


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0]
    # "KATAKANA-HIRAGANA PROLONGED SOUND MARK" (ー) is in most Japanese words.
    if first in ("CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "IDEOGRAPHIC", "HALFWIDTH", "FULLWIDTH"):
        return "CJK"
    return first


def text_quality(text: str) -> float:
    """Share (0–1) of the text that reads as text: 1 for clean prose, near 0 for glyph names or mojibake.

    Counted as bad: glyph-name runs (``/g3/g152``, ``(cid:12)``), unassigned, private-use and
    control characters, replacement characters, combining marks not on a letter of a script that
    uses them, Arabic presentation forms (pypdf's unshaped output), and the letters of words that
    mix unrelated scripts (mojibake from a wrong font map).
    """
    stripped = "".join(text.split())
    if not stripped:
        return 0.0
    bad: float = sum(len(m.group()) for m in _GLYPH_NAMES.finditer(text))
    cleaned = _GLYPH_NAMES.sub(" ", text)
    for token in _TOKEN.findall(cleaned):
        if token.isascii() and token.isprintable():  # nothing below can count against plain ASCII
            continue
        scripts: set[str] = set()
        token_bad: float = 0
        for ch in token:
            category = unicodedata.category(ch)
            if category in ("Co", "Cn", "Cc", "Cs") or ch == "\ufffd":
                token_bad += 1
            elif category == "Mn":
                if not scripts & {"ARABIC", "HEBREW", "DEVANAGARI", "BENGALI", "THAI", "TAMIL", "TELUGU", "KANNADA",
                                  "MALAYALAM", "GUJARATI", "GURMUKHI", "SINHALA", "TIBETAN", "MYANMAR", "KHMER", "LAO"}:
                    token_bad += 1
            elif 0xFB50 <= ord(ch) <= 0xFDFF or 0xFE70 <= ord(ch) <= 0xFEFF:
                token_bad += 0.5
            elif category.startswith("L"):
                script = _script(ch)
                if script not in ("LATIN", "COMMON"):
                    scripts.add(script)
                else:
                    scripts.add("LATIN")
        if len(scripts - {"LATIN"}) > 1 or (len(scripts) > 1 and "LATIN" in scripts and len(token) < 4):
            token_bad = max(token_bad, sum(1 for ch in token if unicodedata.category(ch).startswith("L")))
        bad += token_bad
    return max(0.0, 1.0 - bad / max(1, len(stripped)))


def _date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return None


def _pypdf_pages(data: bytes, wanted: list[int] | None = None) -> tuple[list[str] | None, dict[str, Any], str | None]:
    """Pages of text by pypdf (``wanted`` pages only, or all; None when it cannot open the file), its metadata,
    and why it failed."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    chosen = set(wanted) if wanted is not None else None
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ConversionError("the PDF is encrypted with a password",
                                  "ask the publisher for an unprotected copy, or remove the password")
        pages = []
        for index, page in enumerate(reader.pages):
            if chosen is not None and index not in chosen:
                pages.append("")
                continue
            try:
                pages.append(page.extract_text() or "")
            except Exception as exc:  # one damaged page must not lose the others
                logger.debug("pypdf could not read a page: %s", exc)
                pages.append("")
    except FileNotDecryptedError:
        raise ConversionError("the PDF is encrypted with a password",
                              "ask the publisher for an unprotected copy, or remove the password") from None
    except ConversionError:
        raise
    except (PdfReadError, Exception) as exc:  # any pypdf failure: reported, or the other extractor's text kept
        return None, {}, f"{type(exc).__name__}: {str(exc)[:120]}"
    return pages, _pypdf_metadata(reader), None


def _pypdf_metadata(reader: Any) -> dict[str, Any]:
    """Title, authors and date from the document info, each read on its own: one bad field loses only itself."""
    found: dict[str, Any] = {"title": None, "authors": [], "date": None}
    try:
        info = reader.metadata or {}
    except Exception as exc:
        logger.debug("unreadable PDF metadata: %s", exc)
        return found
    for key, attribute in (("title", "title"), ("authors", "author"), ("date", "creation_date")):
        try:
            value = getattr(info, attribute, None)
        except Exception as exc:  # "D:00000101000000Z" and other damaged values
            logger.debug("unreadable PDF metadata field %s: %s", attribute, exc)
            continue
        if key == "title":
            found["title"] = (str(value) if value else "").strip() or None
        elif key == "authors":
            found["authors"] = [a.strip() for a in (str(value) if value else "").split(";") if a.strip()]
        else:
            found["date"] = _date(value)
    return found


def _pdfium_page_text(textpage: Any) -> str:
    """A page's text by PDFium, lines ending in ``\n``, and a blank line where the page leaves a paragraph's gap.

    PDFium marks no paragraphs (pypdf's text has a blank line at each), and the layout reader
    needs them: without one, a line that runs to the margin is joined to the next, so two
    bullets become one. A gap is a step from one line's last baseline to the next line's first
    of more than :data:`PARAGRAPH_GAP` times the page's median step, or times the usual step for
    the next line's type size where that is larger (a heading's lines), or a step back up the
    page (a new column).
    """
    import ctypes

    import pypdfium2.raw as pdfium_c

    text: str = textpage.get_text_range()
    lines = text.split("\r\n")
    x, y = ctypes.c_double(), ctypes.c_double()

    def baseline(index: int) -> float | None:
        # Text offsets are character indices unless a character is outside the BMP (two UTF-16 units).
        if pdfium_c.FPDFText_GetUnicode(textpage, index) != ord(text[index]):
            return None
        if not pdfium_c.FPDFText_GetCharOrigin(textpage, index, ctypes.byref(x), ctypes.byref(y)):
            return None
        return y.value

    first: list[float | None] = []
    last: list[float | None] = []
    size: list[float] = []
    start = 0
    for line in lines:
        body = line.strip()
        if body:
            lead = start + len(line) - len(line.lstrip())
            first.append(baseline(lead))
            last.append(baseline(lead + len(body) - 1))
            size.append(pdfium_c.FPDFText_GetFontSize(textpage, lead))
        else:
            first.append(None)
            last.append(None)
            size.append(0.0)
        start += len(line) + 2
    steps = [(k, above - below) for k in range(1, len(lines))
             if (above := last[k - 1]) is not None and (below := first[k]) is not None]
    down = sorted(step for _, step in steps if step > 0)
    usual = down[len(down) // 2] if down else 0.0
    # A heading's lines are further apart than body text's, in proportion to its type size.
    gaps = {k for k, step in steps
            if usual and (step > PARAGRAPH_GAP * max(usual, LINE_STEP * size[k]) or step < -usual)}
    out: list[str] = []
    for k, line in enumerate(lines):
        if k in gaps:
            out.append("")
        out.append(line.replace("\r", "\n"))
    return "\n".join(out)


def _pdfium_pages(data: bytes, wanted: list[int] | None) -> tuple[list[str] | None, dict[str, Any]]:
    """Pages of text by pypdfium2 (``wanted`` pages only, or all), and its metadata; None if it cannot open it."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ConversionError("the PDF is encrypted with a password",
                                  "ask the publisher for an unprotected copy, or remove the password") from None
        return None, {}
    pages: list[str] = []
    try:
        for index in range(len(document)):
            if wanted is not None and index not in wanted:
                pages.append("")
                continue
            try:
                text = _pdfium_page_text(document[index].get_textpage())
                pages.append(_GLUED_LABEL.sub(r"\1 ", text.replace(_PDFIUM_HYPHEN, "-")))
            except pdfium.PdfiumError as exc:
                logger.debug("pypdfium2 could not read page %d: %s", index + 1, exc)
                pages.append("")
        meta: dict[str, Any] = {"title": None, "authors": [], "date": None}
        try:
            info = document.get_metadata_dict(skip_empty=True)
            meta["title"] = (info.get("Title") or "").strip() or None
            meta["authors"] = [a.strip() for a in (info.get("Author") or "").split(";") if a.strip()]
            raw = info.get("CreationDate") or ""
            match = re.match(r"(?:D:)?(\d{4})(\d{2})(\d{2})", raw)
            if match and match.group(1) != "0000":
                meta["date"] = f"{match.group(1)}-{match.group(2)}-{match.group(3)}"
        except Exception as exc:
            logger.debug("unreadable PDF metadata: %s", exc)
    finally:
        document.close()
    return pages, meta


def _damaged(reason: str | None) -> ConversionError:
    return ConversionError(f"the PDF is damaged beyond reading ({reason})",
                           "re-download it, or open and re-save it in a PDF reader")


def _extract(data: bytes) -> tuple[str, dict[str, Any]]:
    pages, embedded = _pdfium_pages(data, None)
    extractor = "pypdfium2"
    if pages is None:
        pages, embedded, pypdf_error = _pypdf_pages(data)
        extractor = "pypdf"
        if pages is None:
            raise _damaged(pypdf_error)
        scores = [text_quality(page) if page.strip() else 0.0 for page in pages]
    else:
        scores = [text_quality(page) if page.strip() else 0.0 for page in pages]
        # Right-to-left pages are read twice however clean PDFium's text looks; there pypdf wins ties.
        right_to_left = {i for i, page in enumerate(pages) if scores[i] >= GOOD_QUALITY
                         and _RIGHT_TO_LEFT.search(page)}
        again = [i for i in range(len(pages)) if scores[i] < GOOD_QUALITY or i in right_to_left]
        if again:
            try:
                other, other_meta, pypdf_error = _pypdf_pages(data, again)
            except ConversionError:  # pypdf cannot decrypt what PDFium opened: PDFium's text stands
                other, other_meta, pypdf_error = None, {}, "pypdf cannot decrypt it"
            if other is None and not any(page.strip() for page in pages):
                raise _damaged(pypdf_error)
            replaced = 0
            for i in again:
                if other is None or i >= len(other) or not other[i].strip():
                    continue
                score = text_quality(other[i])
                if score > scores[i] or (i in right_to_left and score >= scores[i]):
                    pages[i], scores[i] = other[i], score
                    replaced += 1
            if replaced:
                extractor = "pypdfium2+pypdf" if replaced < len([p for p in pages if p.strip()]) else "pypdf"
            for key, value in other_meta.items():
                embedded[key] = embedded.get(key) or value
    text = "\f".join(pages)
    visible = "".join(text.split())
    if not visible:
        raise ConversionError("the PDF has no text layer: it is a scan or images of text",
                              "run OCR on it (e.g. ocrmypdf), then ingest the result")
    # Junk pages are never indexed; a file that is mostly junk is refused rather than kept as a fragment.
    with_text = [i for i, page in enumerate(pages) if page.strip()]
    junk = [i for i in with_text if scores[i] < JUNK_QUALITY]
    quality = text_quality(text)
    if quality < JUNK_QUALITY or len(junk) * 2 > len(with_text):
        raise ConversionError(f"its text is glyph junk, not words ({len(junk)} of {len(with_text)} pages; only "
                              f"{quality:.0%} reads as text: the fonts map characters to glyph names)",
                              "run OCR on it, or ask the publisher for a copy with real text")
    for i in junk:
        pages[i] = ""
    text = "\f".join(pages)
    visible = "".join(text.split())
    # One CJK character carries about a word, so it counts as an average word's five characters.
    weight = sum(5 if _script(ch) == "CJK" else 1 for ch in visible)
    words = {w.lower() for w in re.findall(r"\w+", text) if len(w) > 1 or not w.isascii()}
    if weight < MIN_TEXT_CHARS or len(words) < MIN_DISTINCT_WORDS:
        raise ConversionError(f"it has too little text to be a source ({len(visible)} characters, {len(words)} "
                              f"distinct words; at least {MIN_TEXT_CHARS} and {MIN_DISTINCT_WORDS} are needed)",
                              "if it is a scan, run OCR on it; otherwise it needs no indexing")
    meta = {"embedded": embedded, "pages": len(pages), "extractor": extractor, "text_quality": round(quality, 3)}
    if junk:
        meta["pages_left_out"] = [i + 1 for i in junk]
    return text, meta


@component
class PdfConverter(FileConverter):
    """PDF (a Haystack component): text per page; title, author and date from the document info."""

    format_name = "pdf"

    def convert(self, path: Path, data: bytes) -> list[Document]:
        text, meta = run_limited(_extract, data)
        meta["embedded"]["type"] = "report"
        return [Document(content=text, meta=meta)]


register(Format("pdf", (".pdf",), sniff=lambda head: head.lstrip()[:5] == b"%PDF-", converter=PdfConverter,
                priority=10))
