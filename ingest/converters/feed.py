"""RSS and Atom feeds (feedparser, after a defusedxml check): one source per entry.

An entry's own page is used instead of its summary when a saved HTML file in the feed's folder
has the entry's link as its canonical URL.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.converters.base import FileConverter
from ingest.discover import source_path
from ingest.failures import ConversionError
from ingest.formats import Format, register
from ingest.sandbox import preload, run_limited

# Imported once in the sandbox's fork server, not by every child.
preload(__name__, "feedparser", "defusedxml.ElementTree", "lxml.html", "ingest.converters.html", "charset_normalizer")

_DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding=[\"']([A-Za-z0-9._-]+)[\"'][^>]*\?>")
_BARE_AMP = re.compile(rb"&(?!#[0-9]+;|#x[0-9a-fA-F]+;|[A-Za-z_][\w.-]*;)")


def recover_xml(data: bytes) -> tuple[bytes, list[str]]:
    """Repair what feedparser's loose parser tolerates, as UTF-8 bytes, and say what was repaired.

    Whitespace before ``<?xml``; bytes in the declared multi-byte encoding (GB2312, Big5, Shift_JIS:
    expat reads none of them) or, with no declaration, not UTF-8 (the encoding detected, KOI8-R or
    Shift_JIS for instance: :func:`detect_encoding`); and a bare ``&`` not starting an entity.
    Entity *declarations* are not touched: the defusedxml check still refuses them.
    """
    notes: list[str] = []
    if data[:1].isspace() or data.startswith(b"\xef\xbb\xbf\n"):
        stripped = data.lstrip(b"\xef\xbb\xbf").lstrip()
        if stripped.startswith(b"<?xml"):
            data = stripped
            notes.append("whitespace before the XML declaration removed")
    declared = _DECLARATION.match(data)
    encoding = declared.group(1).decode("ascii").lower() if declared else None
    if encoding and encoding.replace("-", "").replace("_", "") not in ("utf8", "usascii", "ascii"):
        try:
            text = data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            text = data.decode(encoding if _known(encoding) else "latin-1", errors="replace")
        data = _DECLARATION.sub(b'<?xml version="1.0" encoding="utf-8"?>', text.encode("utf-8"), count=1)
        notes.append(f"read as {encoding.upper()} and converted to UTF-8")
    elif not encoding:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            text, found = detect_encoding(data)
            data = text.encode("utf-8")
            notes.append(f"no encoding declared and not UTF-8: read as {found}")
    if _BARE_AMP.search(data):
        data = _BARE_AMP.sub(b"&amp;", data)
        notes.append("unescaped & characters escaped")
    return data, notes


# Decoded text whose charset-normalizer "mess" (odd accents, symbols inside words, mixed scripts) is above
# this reads as mojibake (its own threshold for a plausible decoding).
MOJIBAKE_MESS = 0.2
# The text read to choose an encoding: enough for any feed's charset to show, bounded for a huge file.
_DETECT_CHARS = 200_000


def mojibake(text: str) -> float:
    """How much a decoded text looks mis-decoded (0 for clean text; above :data:`MOJIBAKE_MESS` it is
    mojibake), as charset-normalizer measures it."""
    from charset_normalizer.md import mess_ratio

    return float(mess_ratio(text[:_DETECT_CHARS], maximum_threshold=1.0))


def detect_encoding(data: bytes) -> tuple[str, str]:
    """(text, encoding) of bytes that declare no encoding and are not UTF-8: the decoding that reads
    cleanest of Windows-1252 (what feedparser and browsers assume) and charset-normalizer's detection
    (KOI8-R, Shift_JIS, EUC-KR, GB2312...); on a tie, Windows-1252, so a feed of mostly ASCII with a
    few accents is not read as some other Latin charset."""
    from charset_normalizer import from_bytes

    candidates: list[tuple[float, int, str, str]] = []
    for priority, name in enumerate(("cp1252", "latin-1")):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        candidates.append((mojibake(text), priority, "ISO-8859-1" if name == "latin-1" else "WINDOWS-1252", text))
        break
    best = from_bytes(data[: _DETECT_CHARS * 2]).best()
    if best is not None and best.encoding not in ("cp1252", "latin_1"):
        try:
            text = data.decode(best.encoding)
        except (LookupError, UnicodeDecodeError):
            text = ""
        if text:
            candidates.append((mojibake(text), 2, best.encoding.upper().replace("_", "-"), text))
    _, _, name, text = min(candidates)
    return text, name


def _known(encoding: str) -> bool:
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True


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
    except ValueError as exc:  # expat: "multi-byte encodings are not supported"
        raise ConversionError(f"the feed's encoding cannot be read ({exc})", "re-save the feed as UTF-8") from None


def _text_of_html(fragment: str, depth: int = 0) -> str:
    import lxml.html

    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fromstring(fragment)
    except Exception:
        return fragment
    for br in root.iter("br", "p", "li", "h1", "h2", "h3", "div"):
        br.tail = "\n" + (br.tail or "")
    text = root.text_content()
    # Double-escaped HTML (Reddit's feeds): the first pass leaves markup as text; markup is never indexed.
    if re.search(r"<(?:a|p|div|span|img|br|table|td|li|ul|ol|em|strong|b|i)\b[^>]*>|</\w+>", text) and depth < 2:
        return _text_of_html(text, depth + 1)
    return text


def _date(entry: Any) -> str | None:
    # feedparser warns (DeprecationWarning) when it falls back between published and updated: not the user's concern.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return time.strftime("%Y-%m-%d", parsed) if parsed else None


def parse_feed(data: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    """A feed's entries (id, link, title, authors, date, publisher, categories, text) and what was repaired to
    read it; RSS and Atom after the defusedxml check, or a JSON Feed. Run it in the sandbox (``run_limited``).

    :raises ConversionError: for a feed that is damaged, empty of items or unsafe.
    """
    import feedparser

    if data.lstrip()[:1] == b"{":
        return _parse_json_feed(data), []
    try:
        _check_xml(data)
        notes: list[str] = []
    except ConversionError as first:
        if "entities" in first.reason:
            raise
        data, notes = recover_xml(data)
        if not notes:
            raise
        try:
            _check_xml(data)
        except ConversionError as second:
            raise second from None
    feed = feedparser.parse(data)
    site = feed.feed.get("title")
    entries = []
    for index, entry in enumerate(feed.entries):
        content = entry.get("content") or []
        body = content[0].get("value", "") if content else entry.get("summary", "")
        authors = [a.get("name") for a in entry.get("authors", []) if a.get("name")] or (
            [entry["author"]] if entry.get("author") else [])
        categories = [t.get("term") or t.get("label") for t in entry.get("tags") or []]
        entries.append({"id": entry.get("id") or entry.get("link") or str(index), "link": entry.get("link"),
                        "title": entry.get("title"), "authors": authors, "date": _date(entry), "publisher": site,
                        "categories": [c for c in categories if c], "text": _text_of_html(body)})
    return entries, notes


def _parse_json_feed(data: bytes) -> list[dict[str, Any]]:
    """A JSON Feed (jsonfeed.org, versions 1 and 1.1): one entry per item."""
    try:
        feed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(f"the JSON Feed is damaged ({exc})", "re-download the feed") from None
    if not isinstance(feed, dict) or not isinstance(feed.get("items"), list):
        raise ConversionError("the JSON Feed has no items list", "check it is the feed you meant")
    site = feed.get("title")
    feed_authors = [a.get("name") for a in feed.get("authors") or ([feed["author"]] if feed.get("author") else [])
                    if isinstance(a, dict) and a.get("name")]
    entries = []
    for index, item in enumerate(feed["items"]):
        if not isinstance(item, dict):
            continue
        authors = [a.get("name") for a in item.get("authors") or ([item["author"]] if item.get("author") else [])
                   if isinstance(a, dict) and a.get("name")] or feed_authors
        body = item.get("content_html") or item.get("content_text") or item.get("summary") or ""
        text = _text_of_html(body) if item.get("content_html") else str(body)
        date = str(item.get("date_published") or item.get("date_modified") or "")[:10] or None
        tags = item["tags"] if isinstance(item.get("tags"), list) else []
        entries.append({"id": str(item.get("id") or item.get("url") or index), "link": item.get("url"),
                        "title": item.get("title"), "authors": authors, "date": date, "publisher": site,
                        "categories": [str(t) for t in tags if t], "text": text})
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
    sandboxed = True

    def convert(self, path: Path, data: bytes) -> list[Document]:
        entries, notes = run_limited(parse_feed, data)
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
                "source": entry["link"] or f"{source_path(path)}#{entry['id']}",
                "from_page": bool(pages.get(link)),
                # The entry's author is the byline the publisher gives the post (ingest/authors.py).
                "authors_stated": "the feed entry's author",
                **({"notes": "feed recovered: " + "; ".join(notes)} if notes else {}),
                "embedded": {"title": entry["title"], "authors": entry["authors"], "date": entry["date"],
                             "publisher": entry["publisher"], "url": entry["link"], "type": "blog"},
            }))
        if not documents:
            raise ConversionError("no feed entry has any text", "check it is the feed you meant")
        return documents


def is_json_feed(head: bytes) -> bool:
    return head.lstrip()[:1] == b"{" and b"jsonfeed.org/version" in head[:4096]


def _is_feed(head: bytes) -> bool:
    if is_json_feed(head):
        return True
    start = head[:2048].lower()
    return b"<rss" in start or (b"<feed" in start and b"xmlns" in start) or b"<rdf:rdf" in start


register(Format("feed", (".rss", ".atom", ".xml"), sniff=_is_feed, converter=FeedConverter, priority=8))
