"""Markdown files, rendered to plain text (markup removed, text and structure kept)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import frontmatter
from haystack import Document, component
from markdown_it import MarkdownIt
from mdit_plain.renderer import RendererPlain

from ingest.converters.base import FileConverter, decode_text
from ingest.failures import ConversionError
from ingest.formats import Format, register

_MARKDOWN = MarkdownIt("commonmark", renderer_cls=RendererPlain)
_SUP = re.compile(r"<sup[^>]*>\s*(?:<a[^>]*>)?\s*([^<]{1,12}?)\s*(?:</a>)?\s*</sup>", re.IGNORECASE)
_ATX = re.compile(r"^ {0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_TAG = re.compile(r"<[^>]+>")
_FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1", re.MULTILINE | re.DOTALL)


def first_heading(source: str) -> str | None:
    """The text of the first level-1 heading (``# <span id="x">Title</span>`` too), outside code blocks."""
    match = _ATX.search(_FENCE.sub("", source))
    if not match:
        return None
    title = " ".join(html.unescape(_TAG.sub("", match.group(1))).replace("*", "").replace("_", " ").split())
    return title or None


@component
class MarkdownConverter(FileConverter):
    """Markdown (a Haystack component): rendered to plain text with markdown-it-py."""

    format_name = "markdown"

    def convert(self, path: Path, data: bytes) -> list[Document]:
        source = decode_text(data)
        embedded: dict[str, Any] = {}
        if source.lstrip().startswith("---"):
            try:
                post = frontmatter.loads(source)
            except Exception as exc:  # YAML errors come in several classes
                raise ConversionError(f"the front matter is not valid YAML ({str(exc)[:120]})",
                                      "fix the block between the --- lines") from None
            source, embedded = post.content, _front_matter(post.metadata)
        if not embedded.get("title") and (heading := first_heading(source)):
            embedded["title"] = heading
        # A footnote mark in HTML ("professionals<sup>9</sup>") must not glue its number to the word.
        source = _SUP.sub(lambda m: f" [{m.group(1).strip()}]", source)
        text = _MARKDOWN.render(source)
        if not text.strip():
            raise ConversionError("the Markdown has no text", "remove it or replace it with the full file")
        # Front matter is written by the page's own author, as a sidecar is: its authors are a byline.
        stated = {"authors_stated": "the file's front matter"} if embedded.get("authors") else {}
        return [Document(content=text, meta={"embedded": embedded, **stated})]


def _front_matter(values: dict[str, Any]) -> dict[str, Any]:
    """Front matter keys mapped to source metadata (title, author(s), date, publisher, url, type, tags)."""
    authors = values.get("authors") or values.get("author") or []
    if isinstance(authors, str):
        authors = [a.strip() for a in authors.split(",") if a.strip()]
    date_value = values.get("date") or values.get("published")
    return {
        "title": str(values["title"]) if values.get("title") else None,
        "authors": [str(a) for a in authors] if isinstance(authors, list) else [],
        "date": str(date_value)[:10] if date_value else None,
        "publisher": values.get("publisher") or values.get("site"),
        "url": values.get("url") or values.get("canonical_url"),
        "type": values.get("type"),
        "language": values.get("language") or values.get("lang"),
    }


register(Format("markdown", (".md", ".markdown"), sniff=None, converter=MarkdownConverter))
