"""Storify threads in the three shapes of ``../shared/formats/storify.md``: API v1 JSON, the older
element JSON, and saved HTML pages.

A thread becomes one source whose text is its title, description and elements in order; each
element is a *unit* with its own citation (author, date, permalink), so passages are made of
whole elements and can cite "@handle, 23 Sep 2016" with a link to the original tweet. Unknown
fields are ignored and an odd element is skipped, never the whole file.
"""

from __future__ import annotations

import html
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.clean import normalise
from ingest.converters.base import FileConverter, decode_text
from ingest.failures import ConversionError, Failure
from ingest.formats import Format, register
from ingest.quiet import demote_library_logs

logger = logging.getLogger(__name__)


def _html_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment; entities (``&nbsp;``, ``&amp;``) decoded even without markup."""
    if not fragment:
        return ""
    fragment = str(fragment)
    if "<" not in fragment:
        return html.unescape(fragment).replace("\xa0", " ")
    import lxml.html

    try:
        return lxml.html.fromstring(fragment).text_content().replace("\xa0", " ")
    except Exception:
        return html.unescape(fragment)


def _joined(*parts: Any) -> str:
    """Parts joined by a dash, each once: a link whose title repeats its description is not "X — X"."""
    seen: list[str] = []
    for part in parts:
        text = " ".join(_html_text(part).split()) if part else ""
        if text and not any(text.lower() == s.lower() or text.lower() in s.lower() for s in seen):
            seen = [s for s in seen if s.lower() not in text.lower()]
            seen.append(text)
    return " — ".join(seen)


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
        text = _joined(link.get("title"), link.get("description"))
    elif kind == "image":
        text = (data.get("image") or {}).get("caption", "")
    else:
        block = data.get(kind) or {} if isinstance(kind, str) else {}
        text = _joined(block.get("title"), block.get("description"), block.get("caption"))
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


class NotAStory(ConversionError):
    """The file is Storify JSON but not a story: an API error body, a list of stories, a page past the end."""


def _not_a_story(data: Any) -> None:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        raise NotAStory(f"it is not a story but a Storify API error ({data.get('code') or error.get('type')}: "
                        f"{str(error.get('message') or '')[:120]})", "export the story again; check its address")
    content = data.get("content") if isinstance(data, dict) else None
    if isinstance(content, dict) and isinstance(content.get("stories"), list) and "elements" not in content:
        raise NotAStory(f"it is not a story but a list of {len(content['stories'])} stories",
                        "export each story on its own (the list holds only their titles)")


def _element_list(raw: Any) -> list[Any]:
    # Older exports key the elements "0", "1", ... in an object instead of a list.
    if isinstance(raw, dict):
        return [raw[k] for k in sorted(raw, key=lambda k: (not str(k).isdigit(), int(k) if str(k).isdigit() else 0,
                                                            str(k)))]
    return raw if isinstance(raw, list) else []


def parse_json(data: Any) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Story metadata and (text, citation) per element, for any JSON shape.

    :raises NotAStory: for an API error body or a list of stories.
    """
    _not_a_story(data)
    story: dict[str, Any] = {}
    if isinstance(data, list):
        elements = data
    elif isinstance(data, dict) and isinstance(data.get("content"), dict):
        story = data["content"]
        elements = _element_list(story.get("elements"))
    elif isinstance(data, dict) and "elements" in data:
        story = data
        elements = _element_list(data.get("elements"))
    else:
        raise NotAStory("it is JSON but not a story: it has no Storify elements",
                        "if it is a Storify export, export the story again from its JSON API; else remove it")
    author = story.get("author") or {}
    dates = story.get("date") or {}
    meta = {
        "title": _html_text(story.get("title")).strip() or None,
        "description": _html_text(story.get("description")),
        "url": story.get("permalink"),
        "authors": [a for a in [author.get("name") or author.get("username")] if a] if isinstance(author, dict) else [],
        "date": _iso(dates.get("published") or dates.get("created") if isinstance(dates, dict) else None)
        or _iso(story.get("published_at")),
        "sid": story.get("sid") or story.get("permalink"),
        "page": story.get("page") if isinstance(story.get("page"), int) else None,
    }
    parsed = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        try:
            old = "elementClass" in element or ("description" in element and "data" not in element)
            text, citation = _old_element(element) if old else _v1_element(element)
        except (AttributeError, TypeError, ValueError) as exc:
            logger.debug("skipped an odd Storify element: %s", exc)
            continue
        if text.strip():
            parsed.append((text, citation))
    return meta, parsed


_S_TEXT = ("s-quote-text", "s-text", "s-image-caption", "s-link-title", "s-link-description", "s-video-title",
           "s-video-description", "s-text-content", "s-other-title", "s-other-description")


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _parse_s_elements(root: Any) -> list[tuple[str, dict[str, Any]]]:
    """Elements of a storify.com page as saved by a browser (2015-2017 markup: ``s-element``)."""
    parsed = []
    for block in root.xpath(f"//*[{_has_class('s-element')}]"):
        pieces = []
        for name in _S_TEXT:
            for node in block.xpath(f".//*[{_has_class(name)}]"):
                pieces.append(node.text_content())
        if not pieces and block.get("data-type") == "text":
            # A text element is the story author's own prose, in the element's content block.
            pieces = [n.text_content() for n in block.xpath(f".//*[{_has_class('s-element-content')}]")]
        text = _joined(*pieces)
        handle = next((n.text_content().strip() for n in block.xpath(
            f".//*[{_has_class('s-quote-author-username')} or {_has_class('s-author-twitter-handle')}]")
            if n.text_content().strip()), None)
        if handle is None:
            names = block.xpath(f".//*[{_has_class('s-quote-author-name')} or {_has_class('s-author-twitter-name')}"
                                f" or {_has_class('s-author')}]")
            handle = names[0].text_content().strip() or None if names else None
        when = block.xpath(".//*[@data-timestamp]/@data-timestamp") or block.xpath(".//time/@datetime")
        url = block.get("data-permalink") or next(iter(block.xpath(f".//a[{_has_class('s-posted')}]/@href")), None)
        url = "https:" + url if url and url.startswith("//") else url
        if text.strip():
            parsed.append((text, {"author": _handle(None, handle) if handle else None,
                                   "date": _iso(when[0]) if when else None, "url": url}))
    return parsed


def parse_html(html: str) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Story metadata and elements from a saved Storify page (one block per element)."""
    import lxml.html

    root = lxml.html.fromstring(html)

    def first(xpath: str) -> str | None:
        found = root.xpath(xpath)
        if isinstance(found, str):  # an XPath string() result
            return found.strip() or None
        return str(found[0]).strip() or None if found else None

    meta = {
        "title": first(f"//*[{_has_class('s-title')}]//text()") or first("//meta[@property='og:title']/@content")
        or first("//title/text()"),
        "description": first(f"string(//*[{_has_class('s-description')}])")
        or first("//meta[@name='description']/@content")
        or first("//meta[@property='og:description']/@content"),
        "url": first("//link[@rel='canonical']/@href") or first("//meta[@property='og:url']/@content"),
        "authors": [a for a in [first(f"//*[{_has_class('s-author-name')}]/text()")
                                or first("//meta[@name='author']/@content")] if a],
        "date": _iso(first("//time/@datetime") or first(f"//*[{_has_class('s-published-date')}]//@data-timestamp")),
    }
    if root.xpath(f"//*[{_has_class('s-element')}]"):
        # The page's meta description is storify.com's own blurb, not the story's.
        meta["description"] = first(f"string(//*[{_has_class('s-description')}])")
        return meta, _parse_s_elements(root)
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


MIN_STORY_CHARS = 20


def build_document(meta: dict[str, Any], elements: list[tuple[str, dict[str, Any]]]) -> Document:
    """The thread as one Document: header then elements, each element a unit with its citation.

    The header (title and description) is a unit without a citation, so a passage holds it and a
    phrase of the description finds the story.
    """
    header = "\n\n".join(p for p in (normalise(meta.get("title") or "").strip(),
                                      normalise(meta.get("description") or "").strip()) if p)
    text = ""
    units: list[dict[str, Any]] = []
    if header:
        units.append({"start": 0, "end": len(header), "citation": None})
        text = header
    elements_kept = 0
    for element_text, citation in elements:
        clean = normalise(element_text).strip()
        if not clean:
            continue
        text += "\n\n" if text else ""
        units.append({"start": len(text), "end": len(text) + len(clean), "citation": citation})
        text += clean
        elements_kept += 1
    if not elements_kept:
        raise ConversionError("the story is empty: it has no elements with text",
                              "check it is the full export, not a draft or a page past its end")
    embedded = {"title": meta.get("title"), "authors": meta.get("authors") or [], "date": (meta.get("date") or "")[:10]
                or None, "url": meta.get("url"), "type": "storify", "publisher": "Storify"}
    return Document(content=text, meta={"embedded": embedded, "units": units, "structured": True})


def _html_fallback(data: bytes) -> Document:
    """A saved page that mentions Storify but has no story markup is read as an ordinary web page."""
    from ingest.converters.html import HtmlConverter

    return HtmlConverter().convert(Path("page.html"), data)[0]


@component
class StorifyConverter(FileConverter):
    """Storify exports (a Haystack component): JSON in both API shapes, and saved HTML pages.

    The pages of one story exported as several files (API pages 1, 2, 3 with the same story id)
    become one source, named by its first page; a page past the end of the story is refused.
    """

    format_name = "storify"

    def read(self, path: Path, data: bytes) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]] | Document:
        text = decode_text(data)
        if text.lstrip().startswith(("{", "[")):
            try:
                payload = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConversionError(f"the JSON is damaged ({exc})", "export the story again") from None
            meta, elements = parse_json(payload)
            if not elements and (meta.get("page") or 1) > 1:
                raise NotAStory(f"it is page {meta['page']} of the story, past its end (no elements)",
                                "nothing to do: the earlier pages hold the story")
            return meta, elements
        meta, elements = parse_html(text)
        if not elements:
            return _html_fallback(data)
        return meta, elements

    def convert(self, path: Path, data: bytes) -> list[Document]:
        read = self.read(path, data)
        return [read if isinstance(read, Document) else build_document(*read)]

    @component.output_types(documents=list[Document], failures=list[Failure])
    def run(self, sources: list[Path]) -> dict[str, Any]:
        demote_library_logs()
        self.__dict__["_folder_heads"] = {}  # per run: files may change between runs
        documents: list[Document] = []
        failures: list[Failure] = []
        stories: dict[str, list[tuple[int, Path, bytes, dict[str, Any], list[Any]]]] = {}
        order: list[tuple[str, Path, bytes, Document | None]] = []
        for path in sources:
            attempted = self.attempt(path, self.read, failures)
            if attempted is None:
                continue
            data, read = attempted
            if isinstance(read, Document):
                order.append((str(path), path, data, read))
                continue
            meta, elements = read
            key = f"sid:{meta['sid']}" if meta.get("sid") and meta.get("page") else f"file:{path}"
            if any(page[0] == (meta.get("page") or 1) for page in stories.get(key, [])):
                key = f"file:{path}"  # another export of the same page (a different version): its own source
            if key not in stories:
                order.append((key, path, data, None))
            stories.setdefault(key, []).append((meta.get("page") or 1, path, data, meta, elements))
        in_run = set(sources)
        for key, path, data, ready in order:
            if ready is not None:
                documents.append(self.finish(path, data, ready))
                continue
            pages = stories[key]
            if key.startswith("sid:"):
                # Pages in the same folder but outside this run (the pipeline converts files in
                # batches) belong to the story too; the batch holding its first page makes the source.
                have = {page[0] for page in pages}
                for extra in self._sibling_pages(path, key[4:], in_run):
                    if extra[0] not in have:
                        pages.append(extra)
                        have.add(extra[0])
            pages = sorted(pages, key=lambda page: page[0])
            if pages[0][1] not in in_run:
                continue  # read with the batch that holds the story's first page
            first_path, meta = pages[0][1], pages[0][3]
            elements = [element for page in pages for element in page[4]]
            try:
                doc = build_document(meta, elements)
            except ConversionError as exc:
                failures.extend(Failure(str(page[1]), exc.reason, exc.action) for page in pages)
                continue
            if len(pages) > 1:
                doc.meta["parts"] = [str(page[1]) for page in pages]
            documents.append(self.finish(first_path, b"".join(page[2] for page in pages), doc))
        return {"documents": documents, "failures": failures}


    def _sibling_pages(self, path: Path, sid: str,
                       skip: set[Path]) -> list[tuple[int, Path, bytes, dict[str, Any], list[Any]]]:
        """Other pages of story ``sid`` among the JSON files beside ``path``."""
        cache: dict[Path, list[tuple[Path, bytes]]] = self.__dict__.setdefault("_folder_heads", {})
        folder = path.parent
        if folder not in cache:
            heads = []
            for candidate in sorted(folder.glob("*.json")):
                try:
                    with open(candidate, "rb") as handle:
                        heads.append((candidate, handle.read(4096)))
                except OSError:
                    continue
            cache[folder] = heads
        found = []
        for candidate, head in cache[folder]:
            if candidate in skip or candidate == path or sid.encode() not in head:
                continue
            try:
                data = self.read_bytes(candidate)
                read = self.read(candidate, data)
            except (ConversionError, OSError):
                continue
            if isinstance(read, tuple) and read[0].get("sid") == sid and read[0].get("page") and read[1]:
                found.append((read[0]["page"], candidate, data, read[0], read[1]))
        return found


def _is_storify(head: bytes) -> bool:
    start = head.lstrip()[:4096]
    if b"jsonfeed.org/version" in start:  # a JSON Feed is a feed, read by the feed converter
        return False
    lowered = start.lower()
    if start[:1] in (b"{", b"["):
        return (b'"elements"' in start or b"storify" in lowered or b'"elementclass"' in lowered
                or (b'"permalink"' in start and (b'"attribution"' in start or b'"posted_at"' in start)))
    return b"storify" in lowered and b"<html" in lowered


register(Format("storify", (".json",), sniff=_is_storify, converter=StorifyConverter, priority=20))
