"""Storify threads in the three shapes of ``../shared/formats/storify.md``: API v1 JSON, the older
element JSON, and saved HTML pages.

A thread becomes one source whose text is its title, description and elements in order; each
element is a *unit* with its own citation (author, date, permalink), so passages are made of
whole elements and can cite "@handle, 23 Sep 2016" with a link to the original tweet. Unknown
fields are ignored and an odd element is skipped, never the whole file.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.clean import normalise
from ingest.converters.base import ConversionError, FileConverter, decode_text
from ingest.formats import Format, register

logger = logging.getLogger(__name__)


def _html_text(fragment: str | None) -> str:
    if not fragment:
        return ""
    if "<" not in fragment:
        return fragment
    import lxml.html

    try:
        return lxml.html.fromstring(fragment).text_content()
    except Exception:
        return fragment


def _iso(value: Any) -> str | None:
    """ISO 8601 from an ISO string or Unix seconds (number or string)."""
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        pass
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).isoformat(timespec="seconds")
    except ValueError:
        return None


def _handle(username: Any, name: Any) -> str | None:
    if username:
        return "@" + str(username).lstrip("@")
    return str(name) if name else None


def _v1_element(element: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = element.get("data") or {}
    kind = element.get("type")
    if kind == "quote":
        text = (data.get("quote") or {}).get("text", "")
    elif kind == "text":
        text = _html_text(data.get("text"))
    elif kind == "link":
        link = data.get("link") or {}
        text = " — ".join(x for x in (link.get("title"), link.get("description")) if x)
    elif kind == "image":
        text = (data.get("image") or {}).get("caption", "")
    else:
        block = data.get(kind) or {} if isinstance(kind, str) else {}
        text = " — ".join(str(x) for x in (block.get("title"), block.get("description"), block.get("caption")) if x)
    attribution = element.get("attribution") or {}
    source = element.get("source") or {}
    citation = {
        "author": _handle(attribution.get("username") or source.get("username"), attribution.get("name")),
        "date": _iso(element.get("posted_at") or element.get("added_at")),
        "url": element.get("permalink") or attribution.get("href") or source.get("href"),
    }
    return _html_text(text), citation


def _old_element(element: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    author = element.get("author") or {}
    text = element.get("description") or element.get("title") or ""
    citation = {
        "author": _handle(author.get("username"), author.get("name")),
        "date": _iso(element.get("created_at") or element.get("added_at")),
        "url": element.get("permalink") or author.get("href"),
    }
    return _html_text(text), citation


def parse_json(data: Any) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Story metadata and (text, citation) per element, for any JSON shape."""
    story: dict[str, Any] = {}
    if isinstance(data, list):
        elements = data
    elif isinstance(data, dict) and isinstance(data.get("content"), dict):
        story = data["content"]
        elements = story.get("elements") or []
    elif isinstance(data, dict):
        story = data
        elements = data.get("elements") or []
    else:
        raise ConversionError("the JSON is not a Storify export", "export the story again from its JSON API")
    author = story.get("author") or {}
    dates = story.get("date") or {}
    meta = {
        "title": story.get("title"),
        "description": _html_text(story.get("description")),
        "url": story.get("permalink"),
        "authors": [a for a in [author.get("name") or author.get("username")] if a] if isinstance(author, dict) else [],
        "date": _iso(dates.get("published") or dates.get("created") if isinstance(dates, dict) else None)
        or _iso(story.get("published_at")),
    }
    parsed = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        try:
            old = "elementClass" in element or ("description" in element and "data" not in element)
            text, citation = _old_element(element) if old else _v1_element(element)
        except (AttributeError, TypeError, ValueError) as exc:
            logger.info("skipped an odd Storify element: %s", exc)
            continue
        if text.strip():
            parsed.append((text, citation))
    return meta, parsed


def parse_html(html: str) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Story metadata and elements from a saved Storify page (one block per element)."""
    import lxml.html

    root = lxml.html.fromstring(html)

    def first(xpath: str) -> str | None:
        found = root.xpath(xpath)
        return str(found[0]).strip() if found else None

    meta = {
        "title": first("//meta[@property='og:title']/@content") or first("//title/text()"),
        "description": first("//meta[@name='description']/@content")
        or first("//meta[@property='og:description']/@content"),
        "url": first("//link[@rel='canonical']/@href") or first("//meta[@property='og:url']/@content"),
        "authors": [a for a in [first("//meta[@name='author']/@content")] if a],
        "date": _iso(first("//time/@datetime")),
    }
    blocks = root.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' element ') or "
                        "contains(@class, 'story-element') or contains(@class, 'st-element')]")
    blocks = [b for b in blocks if not any(a in blocks for a in b.iterancestors())]
    parsed = []
    for block in blocks:
        links = block.xpath(".//a[@href]")
        permalink = next((a.get("href") for a in links if "/status/" in a.get("href", "")
                          or "permalink" in (a.get("class") or "")), None)
        handle = next((a.text_content().strip() for a in links if a.text_content().strip().startswith("@")), None)
        if handle is None:
            names = block.xpath(".//*[contains(@class, 'username') or contains(@class, 'author')]")
            handle = _handle(names[0].text_content().strip(), None) if names else None
        when = block.xpath(".//time/@datetime")
        texts = block.xpath(".//*[contains(@class, 'text') or contains(@class, 'quote') or self::blockquote "
                            "or self::p]")
        text = " ".join(t.text_content().strip() for t in texts[:1]) if texts else block.text_content()
        if text.strip():
            parsed.append((text, {"author": handle, "date": _iso(when[0]) if when else None, "url": permalink}))
    return meta, parsed


def build_document(meta: dict[str, Any], elements: list[tuple[str, dict[str, Any]]]) -> Document:
    """The thread as one Document: header then elements, each element a unit with its citation."""
    parts: list[str] = [p for p in (normalise(meta.get("title") or ""), normalise(meta.get("description") or "")) if p]
    text = "\n\n".join(parts)
    units = []
    for element_text, citation in elements:
        clean = normalise(element_text).strip()
        if not clean:
            continue
        text += "\n\n" if text else ""
        units.append({"start": len(text), "end": len(text) + len(clean), "citation": citation})
        text += clean
    if not units:
        raise ConversionError("the story has no elements with text", "check it is the full export")
    embedded = {"title": meta.get("title"), "authors": meta.get("authors") or [], "date": (meta.get("date") or "")[:10]
                or None, "url": meta.get("url"), "type": "storify", "publisher": "Storify"}
    return Document(content=text, meta={"embedded": embedded, "units": units, "structured": True})


@component
class StorifyConverter(FileConverter):
    """Storify exports (a Haystack component): JSON in both API shapes, and saved HTML pages."""

    format_name = "storify"

    def convert(self, path: Path, data: bytes) -> list[Document]:
        text = decode_text(data)
        if text.lstrip().startswith(("{", "[")):
            try:
                payload = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConversionError(f"the JSON is damaged ({exc})", "export the story again") from None
            meta, elements = parse_json(payload)
        else:
            meta, elements = parse_html(text)
        return [build_document(meta, elements)]


def _is_storify(head: bytes) -> bool:
    start = head.lstrip()[:4096]
    lowered = start.lower()
    if start[:1] in (b"{", b"["):
        return (b'"elements"' in start or b"storify" in lowered or b'"elementclass"' in lowered
                or (b'"permalink"' in start and (b'"attribution"' in start or b'"posted_at"' in start)))
    return b"storify" in lowered and b"<html" in lowered


register(Format("storify", (".json",), sniff=_is_storify, converter=StorifyConverter, priority=20))
