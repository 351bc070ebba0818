"""HTML articles and blog posts: main content only (trafilatura), with the page's own metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.converters.base import FileConverter, decode_text
from ingest.failures import ConversionError
from ingest.formats import Format, register
from ingest.sandbox import preload, run_limited

# Imported once in the sandbox's fork server, not by every child.
preload(__name__, "trafilatura", "lxml.html")


def extract_html(html: str) -> dict[str, Any]:
    """Main text and metadata of a page: ``{"text", "title", "author", "date", "sitename", "url"}``."""
    import trafilatura

    result = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=True,
                                         favor_precision=True)
    if result is None:
        return {}
    data = result.as_dict() if hasattr(result, "as_dict") else dict(result)
    return {k: data.get(k) for k in ("text", "title", "author", "date", "sitename", "url", "hostname")}


# The page text kept to check its metadata's author against (a byline sits near the top).
BYLINE_TEXT_CHARS = 20_000
# Below this, a page whose main content trafilatura cannot find is not read as a whole either.
MIN_FRAGMENT_CHARS = 200
_BLOCKS = ("p", "div", "li", "br", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "pre", "section",
           "article", "figcaption", "dd", "dt")


def fragment_text(html: str) -> str:
    """Text of a page that is all content (an article saved as a bare fragment, a reader-view copy):
    every block on its own line, scripts, styles, navigation and forms left out."""
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except Exception:
        return ""
    for bad in root.xpath("//script|//style|//nav|//form|//noscript|//template|//iframe"):
        bad.drop_tree()
    for block in root.iter(*_BLOCKS):
        block.tail = "\n" + (block.tail or "")
        if block.text is not None or len(block):
            block.text = "\n" + (block.text or "")
    return "\n".join(" ".join(line.split()) for line in root.text_content().split("\n") if line.strip())


def _extract(data: bytes) -> tuple[str, dict[str, Any]]:
    html = decode_text(data)
    page = extract_html(html)
    text = (page.get("text") or "").strip()
    head = html[:5000].lower()
    if "<body" not in head and "<html" not in head:
        # A bare fragment (a reader-view copy) is all article: no page around it for trafilatura to
        # tell the article from, and it drops some of it, or all.
        fallback = fragment_text(html)
        if len(fallback) >= max(MIN_FRAGMENT_CHARS, len(text)):
            text = fallback
    if not text:
        raise ConversionError("no article text was found in the page", "check it is an article, not a listing page")
    authors = [a.strip() for a in (page.get("author") or "").split(";") if a.strip()]
    embedded = {"title": page.get("title"), "authors": authors, "date": page.get("date"),
                "publisher": page.get("sitename"), "url": page.get("url"), "type": "article"}
    # The page's visible text, bylines included (the main text often leaves them out): what a name in
    # the page's metadata is checked against before it is cited as an author (ingest/authors.py).
    return text, {"embedded": embedded, "byline_text": fragment_text(html)[:BYLINE_TEXT_CHARS]}


@component
class HtmlConverter(FileConverter):
    """HTML pages (a Haystack component): trafilatura's main content and metadata, in a limited child process."""

    format_name = "html"
    sandboxed = True

    def convert(self, path: Path, data: bytes) -> list[Document]:
        text, meta = run_limited(_extract, data)
        return [Document(content=text, meta=meta)]


def _is_html(head: bytes) -> bool:
    start = head[:2048].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html")) or (start.startswith(b"<") and b"<body" in start)


register(Format("html", (".html", ".htm", ".xhtml"), sniff=_is_html, converter=HtmlConverter, priority=5))
