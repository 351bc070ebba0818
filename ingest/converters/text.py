"""Plain text files in any common encoding."""

from __future__ import annotations

from pathlib import Path

from haystack import Document, component

from ingest.converters.base import FileConverter, decode_text
from ingest.failures import ConversionError
from ingest.formats import Format, register


@component
class TextConverter(FileConverter):
    """Plain text (a Haystack component): decoded, otherwise unchanged."""

    format_name = "text"

    def convert(self, path: Path, data: bytes) -> list[Document]:
        text = decode_text(data)
        if not text.strip():
            raise ConversionError("the file holds only whitespace", "remove it or replace it with the full file")
        return [Document(content=text, meta={})]


register(Format("text", (".txt", ".text"), sniff=None, converter=TextConverter))
