"""Word documents (.docx): paragraphs, headings and tables in order; core properties as metadata."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.converters.base import ConversionError, FileConverter
from ingest.formats import Format, register
from ingest.sandbox import run_limited

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200


def check_zip(data: bytes) -> None:
    """Refuse archives that expand far beyond their size (zip bombs) before any parser opens them."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ConversionError("the file is not a valid .docx (zip) archive", "re-save it from Word") from None
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_UNCOMPRESSED or (total > MAX_RATIO * max(len(data), 1) and total > 10 * 1024 * 1024):
        raise ConversionError(f"the archive expands to {total // (1024 * 1024)} MiB from {len(data) // 1024} KiB "
                              "(a zip bomb?)", "check where the file came from; re-save it from Word")


def _extract(data: bytes) -> tuple[str, dict[str, Any]]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(block, document).text.strip()
            if text:
                lines.extend(["", text, ""] if (Paragraph(block, document).style.name or "").startswith(
                    ("Heading", "Title")) else [text])
        elif tag == "tbl":
            for row in Table(block, document).rows:
                cells = list(dict.fromkeys(c.text.strip() for c in row.cells if c.text.strip()))
                if cells:
                    lines.append("; ".join(cells))
            lines.append("")
    props = document.core_properties
    embedded = {
        "title": (props.title or "").strip() or None,
        "authors": [a.strip() for a in (props.author or "").split(";") if a.strip()],
        "date": (props.created.date().isoformat() if props.created else None),
    }
    return "\n".join(lines), {"embedded": embedded}


@component
class DocxConverter(FileConverter):
    """Word .docx (a Haystack component), read in a limited child process after a zip-bomb check."""

    format_name = "docx"

    def convert(self, path: Path, data: bytes) -> list[Document]:
        check_zip(data)
        text, meta = run_limited(_extract, data)
        if not text.strip():
            raise ConversionError("the document has no text", "check it is the right file")
        meta["embedded"]["type"] = "report"
        return [Document(content=text, meta=meta)]


def _is_docx(head: bytes) -> bool:
    return head[:4] == b"PK\x03\x04" and b"word/" in head


register(Format("docx", (".docx",), sniff=_is_docx, converter=DocxConverter, priority=10))
