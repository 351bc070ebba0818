"""PDF reports: text page by page, pages separated by form feeds so passages know their page.

Two extractors are tried where needed: pypdf first (fast, good on most producers), then
pypdfium2 for each page whose pypdf text is missing or garbled — decided by :func:`text_quality`,
a measured check of the text itself (share of characters that are unassigned, private-use,
stray combining marks or glyph names, and of words mixing scripts), never by file name. Metadata
is read apart from the text, so a damaged date or title never rejects readable pages.

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
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.converters.base import FileConverter
from ingest.failures import ConversionError
from ingest.formats import Format, register
from ingest.sandbox import run_limited

logger = logging.getLogger(__name__)

# Below this many non-space characters, or this many distinct words, a PDF is a label, a form
# skeleton or a test stub ("Hello, world!"), not a source anyone would cite.
MIN_TEXT_CHARS = 40
MIN_DISTINCT_WORDS = 2
# A page whose pypdf text scores below this is read again with pypdfium2 (the better one is kept).
GOOD_QUALITY = 0.9
# A document whose best text scores below this is glyph junk and refused.
JUNK_QUALITY = 0.5

_GLYPH_NAMES = re.compile(r"(?:/(?:g|G|uni|cid|glyph|[A-Za-z]{1,3})\d+[A-Za-z0-9]*){2,}|(?:/g\d+)+|\(cid:\d+\)")
_TOKEN = re.compile(r"\S+")


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0]
    if first in ("CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "HALFWIDTH", "FULLWIDTH"):
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


def _pypdf_pages(data: bytes) -> tuple[list[str] | None, dict[str, Any], str | None]:
    """Pages of text by pypdf (None when it cannot open the file), its metadata, and why it failed."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ConversionError("the PDF is encrypted with a password",
                                  "ask the publisher for an unprotected copy, or remove the password")
        pages = []
        for page in reader.pages:
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
    except (PdfReadError, Exception) as exc:  # any pypdf failure: pypdfium2 gets its turn
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
                textpage = document[index].get_textpage()
                pages.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
            except pdfium.PdfiumError as exc:
                logger.debug("pypdfium2 could not read page %d: %s", index + 1, exc)
                pages.append("")
        meta: dict[str, Any] = {"title": None, "authors": [], "date": None}
        try:
            info = document.get_metadata_dict(skip_empty=True)
            meta["title"] = (info.get("Title") or "").strip() or None
            meta["authors"] = [a.strip() for a in (info.get("Author") or "").split(";") if a.strip()]
            raw = info.get("CreationDate") or ""
            match = re.match(r"D:(\d{4})(\d{2})(\d{2})", raw)
            if match and match.group(1) != "0000":
                meta["date"] = f"{match.group(1)}-{match.group(2)}-{match.group(3)}"
        except Exception as exc:
            logger.debug("unreadable PDF metadata: %s", exc)
    finally:
        document.close()
    return pages, meta


def _extract(data: bytes) -> tuple[str, dict[str, Any]]:
    pages, embedded, pypdf_error = _pypdf_pages(data)
    extractor = "pypdf"
    if pages is None:
        pages, embedded = _pdfium_pages(data, None)
        extractor = "pypdfium2"
        if pages is None or not any(p.strip() for p in pages):
            raise ConversionError(f"the PDF is damaged beyond reading ({pypdf_error})",
                                  "re-download it, or open and re-save it in a PDF reader")
    else:
        weak = [i for i, page in enumerate(pages) if page.strip() and text_quality(page) < GOOD_QUALITY]
        empty = [i for i, page in enumerate(pages) if not page.strip()]
        if weak or empty:
            again, other_meta = _pdfium_pages(data, weak + empty)
            if again is not None:
                replaced = 0
                for i in weak + empty:
                    if i < len(again) and again[i].strip() and text_quality(again[i]) > text_quality(pages[i]):
                        pages[i] = again[i]
                        replaced += 1
                if replaced:
                    extractor = "pypdf+pypdfium2" if replaced < len([p for p in pages if p.strip()]) else "pypdfium2"
                for key, value in other_meta.items():
                    embedded[key] = embedded.get(key) or value
    text = "\f".join(pages)
    visible = "".join(text.split())
    if not visible:
        raise ConversionError("the PDF has no text layer: it is a scan or images of text",
                              "run OCR on it (e.g. ocrmypdf), then ingest the result")
    # Junk pages are never indexed; a file that is mostly junk is refused rather than kept as a fragment.
    with_text = [i for i, page in enumerate(pages) if page.strip()]
    junk = [i for i in with_text if text_quality(pages[i]) < JUNK_QUALITY]
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
