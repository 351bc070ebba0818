"""The harvest's source list (``sources.yaml``): each publisher's feed, sitemap or listing page, checked on load.

The smallest file that works::

    sources:
      - name: Example blog
        feed: https://example.org/feed.xml
      - name: Example publisher
        sitemap: https://example.org/sitemap.xml

Errors name the file, the entry and the field::

    sources.yaml: entry 2 (Example publisher): 'sitemap' must be an http or https address, got 'example.org'

Usage::

    specs = load_sources(Path("sources.yaml"))
    specs[0].kind, specs[0].url, specs[0].folder   # "feed", "https://example.org/feed.xml", "example-blog"
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from index.errors import KBError
from index.records import SOURCE_TYPES
from index.search.facets import slugify

# What a source lists its items in: exactly one of these per entry.
KINDS = ("feed", "sitemap", "page")
FILTER_FIELDS = ("title", "category", "url")
FIELDS = ("name", *KINDS, "publisher", "type", "licence", "filters", "max_items", "notes")


class SourcesError(KBError):
    """The sources file cannot be read, or one of its entries is wrong."""


@dataclass(frozen=True)
class Filters:
    """Patterns (Python regular expressions, searched case-insensitively) an item must match to be fetched:
    its title, one of its categories, its address. A pattern not given matches everything; an item without a
    title or categories (a sitemap's) is never refused for lacking them."""

    title: str | None = None
    category: str | None = None
    url: str | None = None

    def admit(self, url: str, title: str | None, categories: tuple[str, ...]) -> bool:
        if self.url and not re.search(self.url, url, re.IGNORECASE):
            return False
        if self.title and title is not None and not re.search(self.title, title, re.IGNORECASE):
            return False
        return not (self.category and categories
                    and not any(re.search(self.category, c, re.IGNORECASE) for c in categories))


@dataclass(frozen=True)
class SourceSpec:
    """One entry of the sources file.

    :param kind: ``feed`` (RSS, Atom or JSON Feed: each entry's page is fetched), ``sitemap`` (each
        address listed, following a sitemap index one level) or ``page`` (a listing page: the links
        on it that ``filters.url`` admits are fetched, one level only).
    :param folder: the source's folder in the mirror (its name, slugified).
    :param max_items: new items fetched per run at most (None: the ``harvest_max_items`` setting).
    """

    name: str
    kind: str
    url: str
    folder: str
    publisher: str | None = None
    type: str | None = None
    licence: str | None = None
    filters: Filters = field(default_factory=Filters)
    max_items: int | None = None
    notes: str | None = None


def load_sources(path: str | Path) -> list[SourceSpec]:
    """Read and check a sources file.

    :raises SourcesError: for a missing or unreadable file, or an entry that is wrong (naming the
        entry by number and name, the field, and what to write instead).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesError(f"{path} does not exist. Give the sources file with --sources FILE or the "
                           "harvest_sources setting; docs/sources.example.yaml shows the format.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesError(f"{path} cannot be read ({exc}); save it as UTF-8 text.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise SourcesError(f"{path} is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}. "
                           "Check the indentation and quote addresses that contain ': '.") from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise SourcesError(f"{path} must hold a list under 'sources:' (see docs/sources.example.yaml).")
    unknown = sorted(set(data) - {"sources"})
    if unknown:
        raise SourcesError(f"{path}: unknown top-level key {unknown[0]!r}; the file holds only 'sources:'.")
    if not data["sources"]:
        raise SourcesError(f"{path} lists no sources; add at least one entry with a name and a feed, sitemap or page.")
    specs: list[SourceSpec] = []
    folders: dict[str, str] = {}
    for number, entry in enumerate(data["sources"], start=1):
        spec = _entry(path, number, entry)
        if spec.folder in folders:
            raise SourcesError(f"{path}: entry {number} ({spec.name}): 'name' gives the same mirror folder "
                               f"({spec.folder}) as {folders[spec.folder]!r}; give each source its own name.")
        folders[spec.folder] = spec.name
        specs.append(spec)
    return specs


def _entry(path: Path, number: int, entry: Any) -> SourceSpec:
    if not isinstance(entry, dict):
        raise SourcesError(f"{path}: entry {number} must be a mapping such as 'name: …' and 'feed: https://…', "
                           f"got {type(entry).__name__}.")
    label = f"{path}: entry {number}" + (f" ({entry['name']})" if isinstance(entry.get("name"), str) else "")

    def wrong(field_name: str, problem: str) -> SourcesError:
        return SourcesError(f"{label}: '{field_name}' {problem}")

    for key in entry:
        if key not in FIELDS:
            close = difflib.get_close_matches(str(key), FIELDS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"use {', '.join(FIELDS)}"
            raise SourcesError(f"{label}: unknown field '{key}'; {hint}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise wrong("name", "is required: the source's name, which also names its folder in the mirror.")
    if not slugify(name):
        raise wrong("name", f"must contain letters or digits, got {name!r}.")
    kinds = [k for k in KINDS if k in entry]
    if len(kinds) != 1:
        found = f"it has {' and '.join(kinds)}" if kinds else "it has none"
        raise SourcesError(f"{label}: give exactly one of 'feed', 'sitemap' or 'page' (the address items are "
                           f"listed at); {found}.")
    kind = kinds[0]
    url = entry[kind]
    if not isinstance(url, str) or urlsplit(url.strip()).scheme not in ("http", "https") \
            or not urlsplit(url.strip()).hostname:
        raise wrong(kind, f"must be an http or https address, got {url!r}.")
    for text_field in ("publisher", "licence", "notes"):
        if entry.get(text_field) is not None and not isinstance(entry[text_field], str):
            raise wrong(text_field, f"must be text, got {entry[text_field]!r}.")
    source_type = entry.get("type")
    if source_type is not None and source_type not in SOURCE_TYPES:
        raise wrong("type", f"must be one of {', '.join(SOURCE_TYPES)}, got {source_type!r}.")
    max_items = entry.get("max_items")
    if max_items is not None and (isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1):
        raise wrong("max_items", f"must be a whole number of at least 1, got {max_items!r}.")
    filters = _filters(entry.get("filters"), wrong)
    if kind == "page" and not filters.url:
        raise wrong("filters", "needs a 'url' pattern for a listing page (for example url: '/publications/'), so "
                               "that only its items are followed, not its navigation links.")
    return SourceSpec(name=name.strip(), kind=kind, url=url.strip(), folder=slugify(name),
                      publisher=entry.get("publisher"), type=source_type, licence=entry.get("licence"),
                      filters=filters, max_items=max_items, notes=entry.get("notes"))


def _filters(raw: Any, wrong: Any) -> Filters:
    if raw is None:
        return Filters()
    if not isinstance(raw, dict):
        raise wrong("filters", f"must be a mapping of {', '.join(FILTER_FIELDS)} to patterns, got {raw!r}.")
    values: dict[str, str] = {}
    for key, pattern in raw.items():
        if key not in FILTER_FIELDS:
            raise wrong("filters", f"has '{key}'; filter on {', '.join(FILTER_FIELDS)}.")
        if not isinstance(pattern, str) or not pattern:
            raise wrong(f"filters.{key}", f"must be a pattern (text), got {pattern!r}.")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise wrong(f"filters.{key}", f"is not a valid regular expression ({exc}): {pattern!r}.") from None
        values[key] = pattern
    return Filters(**values)
