"""Where a source lists its items: a feed's entries, a sitemap's addresses, a listing page's links.

Usage::

    items = feed_items(body, "https://example.org/feed.xml")          # [Item(url, title, date, ...), ...]
    pages, children = sitemap_items(body)                             # addresses, and child sitemaps of an index
    links = page_items(body, "https://example.org/publications/")     # every link on the page, absolute
"""

from __future__ import annotations

import gzip
import io
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from ingest.failures import ConversionError
from ingest.harvest.content import looks_like_html

# A sitemap index's children fetched per run at most (GOV.UK's index lists dozens).
MAX_CHILD_SITEMAPS = 50


class NotAListing(Exception):
    """The body is not the feed, sitemap or page it should be; the message says what it is instead."""


@dataclass(frozen=True)
class Item:
    """One item a listing names: its address, and what the listing says of it (a feed says most)."""

    url: str
    title: str | None = None
    date: str | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    publisher: str | None = None
    lastmod: str | None = None  # a sitemap's <lastmod>

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if v not in (None, ())}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        return cls(url=data["url"], title=data.get("title"), date=data.get("date"),
                   authors=tuple(data.get("authors") or ()), categories=tuple(data.get("categories") or ()),
                   publisher=data.get("publisher"), lastmod=data.get("lastmod"))


def clean_url(url: str, base: str) -> str | None:
    """An absolute http(s) address without its fragment, or None for mailto:, javascript: and the like."""
    try:
        parts = urlsplit(urljoin(base, url.strip()))
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit(parts._replace(fragment=""))


def _unique(items: list[Item]) -> list[Item]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.url not in seen:
            seen.add(item.url)
            out.append(item)
    return out


def feed_items(body: bytes, feed_url: str) -> list[Item]:
    """The entries of an RSS, Atom or JSON Feed, each with its link made absolute.

    :raises NotAListing: for an HTML page, a damaged or unsafe feed, or one with no entries.
    """
    from ingest.converters.feed import parse_feed
    from ingest.sandbox import run_limited

    if looks_like_html(body):
        raise NotAListing("is an HTML page, not a feed (has the feed moved?)")
    try:
        entries, _ = run_limited(parse_feed, body)
    except ConversionError as exc:
        raise NotAListing(f"cannot be read as a feed: {exc.reason}") from None
    items = []
    for entry in entries:
        url = clean_url(entry.get("link") or "", feed_url)
        if url is None:
            continue
        items.append(Item(url=url, title=entry.get("title") or None, date=entry.get("date"),
                          authors=tuple(entry.get("authors") or ()), categories=tuple(entry.get("categories") or ()),
                          publisher=entry.get("publisher") or None))
    if not items and not entries:
        raise NotAListing("has no entries")
    return _unique(items)


def sitemap_items(body: bytes, max_bytes: int = 50 * 1024 * 1024) -> tuple[list[Item], list[str]]:
    """The page addresses of a sitemap (with ``lastmod``), and the child sitemaps of a sitemap index.

    :raises NotAListing: for HTML, XML that is not a sitemap, or an unsafe document.
    """
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    if body[:2] == b"\x1f\x8b":  # a .xml.gz sitemap
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as packed:
                body = packed.read(max_bytes + 1)
        except (OSError, EOFError) as exc:
            raise NotAListing(f"is a damaged gzip file ({exc})") from None
        if len(body) > max_bytes:
            raise NotAListing("unpacks to more than the harvest_max_bytes limit")
    if looks_like_html(body):
        raise NotAListing("is an HTML page, not a sitemap (has the sitemap moved?)")
    try:
        root = SafeET.fromstring(body)
    except DefusedXmlException:
        raise NotAListing("uses XML entities or external references; refused (this is how XML bombs work)") from None
    except SafeET.ParseError as exc:
        raise NotAListing(f"is not well-formed XML ({exc})") from None

    def local(tag: Any) -> str:
        return str(tag).rsplit("}", 1)[-1]

    def child_text(element: Any, name: str) -> str | None:
        for child in element:
            if local(child.tag) == name and child.text and child.text.strip():
                return str(child.text.strip())
        return None

    kind = local(root.tag)
    if kind == "sitemapindex":
        children = [loc for e in root if local(e.tag) == "sitemap" and (loc := child_text(e, "loc"))]
        return [], children[:MAX_CHILD_SITEMAPS]
    if kind != "urlset":
        raise NotAListing(f"is XML but not a sitemap (its root is <{kind}>, not <urlset> or <sitemapindex>)")
    items = []
    for element in root:
        if local(element.tag) != "url":
            continue
        loc = child_text(element, "loc")
        url = clean_url(loc, loc) if loc else None
        if url:
            items.append(Item(url=url, lastmod=child_text(element, "lastmod")))
    return _unique(items), []


def page_items(body: bytes, page_url: str) -> list[Item]:
    """Every link on a listing page, absolute, with its text as title (for the filters), the page itself left out.

    :raises NotAListing: when the body is not HTML.
    """
    import lxml.html

    if not looks_like_html(body) and b"<a" not in body[:200_000].lower():
        raise NotAListing("is not an HTML page")
    try:
        root = lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise NotAListing(f"cannot be read as HTML ({exc})") from None
    base = root.xpath("string(//base/@href)") or page_url
    own = clean_url(page_url, page_url)
    items = []
    for anchor in root.iter("a"):
        href = anchor.get("href")
        url = clean_url(href, urljoin(page_url, base)) if href else None
        if url is None or url == own:
            continue
        text = " ".join(anchor.text_content().split()) or None
        items.append(Item(url=url, title=text))
    return _unique(items)
