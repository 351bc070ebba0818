"""PDF reports: text page by page (pypdf), pages separated by form feeds so passages know their page."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.converters.base import ConversionError, FileConverter
from ingest.formats import Format, register
from ingest.sandbox import run_limited


def _date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return None


def _extract(data: bytes) -> tuple[str, dict[str, Any]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ConversionError("the PDF is encrypted with a password",
                                  "ask the publisher for an unprotected copy, or remove the password")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
        embedded = {
            "title": (getattr(info, "title", None) or "").strip() or None,
            "authors": [a.strip() for a in (getattr(info, "author", None) or "").split(";") if a.strip()],
            "date": _date(getattr(info, "creation_date", None)),
        }
    except PdfReadError as exc:
        raise ConversionError(f"the PDF is damaged ({exc})", "re-download or re-save the PDF") from None
    if not any(p.strip() for p in pages):
        raise ConversionError("the PDF has no text layer (scanned images?)", "run OCR on it, then ingest the result")
    return "\f".join(pages), {"embedded": embedded, "pages": len(pages)}


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
