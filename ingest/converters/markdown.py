"""Markdown files, rendered to plain text (markup removed, text and structure kept)."""

from __future__ import annotations

from pathlib import Path

from haystack import Document, component
from markdown_it import MarkdownIt
from mdit_plain.renderer import RendererPlain

from ingest.converters.base import ConversionError, FileConverter, decode_text
from ingest.formats import Format, register

_MARKDOWN = MarkdownIt("commonmark", renderer_cls=RendererPlain)


@component
class MarkdownConverter(FileConverter):
    """Markdown (a Haystack component): rendered to plain text with markdown-it-py."""

    format_name = "markdown"

    def convert(self, path: Path, data: bytes) -> list[Document]:
        text = _MARKDOWN.render(decode_text(data))
        if not text.strip():
            raise ConversionError("the Markdown has no text", "remove it or replace it with the full file")
        return [Document(content=text, meta={})]


register(Format("markdown", (".md", ".markdown"), sniff=None, converter=MarkdownConverter))
