"""RSS and Atom feeds (feedparser, after a defusedxml check): one source per entry.

An entry's own page is used instead of its summary when a saved HTML file in the feed's folder
has the entry's link as its canonical URL.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.converters.base import ConversionError, FileConverter
from ingest.formats import Format, register
from ingest.sandbox import run_limited


def _check_xml(data: bytes) -> None:
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise ConversionError(f"the feed uses XML entities or external references ({type(exc).__name__})",
                              "this is how XML bombs work; get the feed from its publisher again") from None
    except SafeET.ParseError as exc:
        raise ConversionError(f"the feed is not well-formed XML ({exc})", "re-download the feed") from None


def _text_of_html(fragment: str) -> str:
    import lxml.html

    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fromstring(fragment)
    except Exception:
        return fragment
    for br in root.iter("br", "p", "li", "h1", "h2", "h3", "div"):
        br.tail = "\n" + (br.tail or "")
    return root.text_content()


def _date(entry: Any) -> str | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return time.strftime("%Y-%m-%d", parsed) if parsed else None


def _parse(data: bytes) -> list[dict[str, Any]]:
    import feedparser

    _check_xml(data)
    feed = feedparser.parse(data)
    site = feed.feed.get("title")
    entries = []
    for index, entry in enumerate(feed.entries):
        content = entry.get("content") or []
        body = content[0].get("value", "") if content else entry.get("summary", "")
        authors = [a.get("name") for a in entry.get("authors", []) if a.get("name")] or (
            [entry["author"]] if entry.get("author") else [])
        entries.append({"id": entry.get("id") or entry.get("link") or str(index), "link": entry.get("link"),
                        "title": entry.get("title"), "authors": authors, "date": _date(entry), "publisher": site,
                        "text": _text_of_html(body)})
    return entries


def _pages_by_url(folder: Path) -> dict[str, str]:
    """Canonical URL → main text, for the saved HTML pages beside a feed."""
    from ingest.converters.html import extract_html

    pages = {}
    for path in sorted(folder.glob("*.htm*")):
        try:
            page = run_limited(extract_html, path.read_text(encoding="utf-8", errors="replace"), timeout=30)
        except (ConversionError, OSError):
            continue
        if page.get("url") and page.get("text"):
            pages[page["url"].rstrip("/")] = page["text"]
    return pages


@component
class FeedConverter(FileConverter):
    """RSS/Atom (a Haystack component): one Document per entry with its link, title, author and date."""

    format_name = "feed"

    def convert(self, path: Path, data: bytes) -> list[Document]:
        entries = run_limited(_parse, data)
        if not entries:
            raise ConversionError("the feed has no entries", "check it is the feed you meant")
        pages = _pages_by_url(path.parent)
        documents = []
        for entry in entries:
            link = (entry["link"] or "").rstrip("/")
            text = pages.get(link) or entry["text"]
            if not text.strip():
                continue
            documents.append(Document(content=text, meta={
                "source": entry["link"] or f"{path}#{entry['id']}",
                "from_page": bool(pages.get(link)),
                "embedded": {"title": entry["title"], "authors": entry["authors"], "date": entry["date"],
                             "publisher": entry["publisher"], "url": entry["link"], "type": "blog"},
            }))
        if not documents:
            raise ConversionError("no feed entry has any text", "check it is the feed you meant")
        return documents


def _is_feed(head: bytes) -> bool:
    start = head[:2048].lower()
    return b"<rss" in start or (b"<feed" in start and b"xmlns" in start) or b"<rdf:rdf" in start


register(Format("feed", (".rss", ".atom", ".xml"), sniff=_is_feed, converter=FeedConverter, priority=8))
