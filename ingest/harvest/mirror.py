"""The harvest's local mirror: one folder per source, each item a file the ingest reads with its sidecar.

Layout::

    MIRROR/
      example-blog/
        why-we-changed-our-model-3f2a9c1d0b.html
        why-we-changed-our-model-3f2a9c1d0b.html.meta.json   # url, publisher, title, date, harvest: {...}
      .harvest/                  # the harvest's own memory (hidden: never ingested)
        lock
        robots.json              # each host's robots.txt and its validators
        state/example-blog.json  # the listings' validators and items, when each item was last seen
        runs/20250101T020000.json

A file's sidecar changes only when something a reader sees changes (new content, the original gone or
back), so that ``kb reindex`` re-processes only those files: when an item was last seen is kept in
the state file, not the sidecar.

Usage::

    mirror = Mirror(Path("mirror"))
    with mirror.lock():
        known = mirror.items(spec)          # address → MirrorItem
        path = mirror.write(spec, url, ".html", body, sidecar)
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from index.errors import LockHeldError
from index.search.facets import slugify
from ingest.discover import SIDECAR_SUFFIX, sidecar_for
from ingest.harvest.fetch import HarvestError, RobotsFile, RobotsMemory
from ingest.harvest.listings import Item
from ingest.harvest.sources import SourceSpec

STATE_DIR = ".harvest"


@dataclass
class MirrorItem:
    """A file of the mirror and its sidecar, as the last harvest left them."""

    path: Path
    sidecar: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.sidecar.get("url") or "")

    @property
    def harvest(self) -> dict[str, Any]:
        value = self.sidecar.get("harvest")
        return value if isinstance(value, dict) else {}

    @property
    def gone(self) -> dict[str, Any] | None:
        value = self.sidecar.get("original_gone")
        return value if isinstance(value, dict) else None

    def validators(self) -> tuple[str | None, str | None]:
        """The ETag and Last-Modified to ask with, only while the copy is there to stand for a 304."""
        if not self.path.exists():
            return None, None
        return self.harvest.get("etag"), self.harvest.get("last_modified")


@dataclass
class Listing:
    """A feed, sitemap or listing page as last fetched: its validators and the items it named."""

    etag: str | None = None
    last_modified: str | None = None
    items: list[Item] = field(default_factory=list)
    children: list[str] = field(default_factory=list)  # a sitemap index's sitemaps

    def to_dict(self) -> dict[str, Any]:
        return {"etag": self.etag, "last_modified": self.last_modified, "items": [i.to_dict() for i in self.items],
                "children": self.children}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Listing:
        return cls(data.get("etag"), data.get("last_modified"), [Item.from_dict(i) for i in data.get("items") or []],
                   list(data.get("children") or []))


@dataclass
class SourceState:
    """What the harvest remembers of one source between runs."""

    listings: dict[str, Listing] = field(default_factory=dict)
    last_seen: dict[str, str] = field(default_factory=dict)  # item address → last day it answered 200 or 304

    def to_dict(self) -> dict[str, Any]:
        return {"listings": {url: listing.to_dict() for url, listing in self.listings.items()},
                "last_seen": dict(sorted(self.last_seen.items()))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceState:
        return cls({url: Listing.from_dict(v) for url, v in (data.get("listings") or {}).items()},
                   dict(data.get("last_seen") or {}))


def item_file_name(url: str, extension: str) -> str:
    """A stable file name for an address: its last path segment, readable, and a hash that keeps it unique."""
    parts = urlsplit(url)
    segment = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]) or parts.netloc
    stem = slugify(re.sub(r"\.(html?|pdf|docx?|txt|md|aspx?|php)$", "", segment, flags=re.I))[:60].strip("-")
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:10]
    return f"{stem or 'item'}-{digest}{extension}"


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file whole or not at all (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


class Mirror:
    """The mirror folder (see the module docstring).

    :raises HarvestError: when the folder cannot be made.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        try:
            (self.root / STATE_DIR / "state").mkdir(parents=True, exist_ok=True)
            (self.root / STATE_DIR / "runs").mkdir(exist_ok=True)
        except OSError as exc:
            raise HarvestError(f"The mirror folder {self.root} cannot be made ({exc.strerror}); give a folder you "
                               "can write with --mirror or the harvest_mirror setting.") from None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the mirror for one harvest.

        :raises LockHeldError: when another harvest holds it.
        """
        with open(self.root / STATE_DIR / "lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockHeldError(f"Another kb harvest is writing {self.root}; try again when it has finished.") \
                    from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def folder(self, spec: SourceSpec) -> Path:
        return self.root / spec.folder

    # -- the source's files ------------------------------------------------------------------------

    def items(self, spec: SourceSpec) -> dict[str, MirrorItem]:
        """The source's copies by address (read from their sidecars); an unreadable sidecar is left alone."""
        found: dict[str, MirrorItem] = {}
        folder = self.folder(spec)
        if not folder.is_dir():
            return found
        for sidecar in sorted(folder.glob(f"*{SIDECAR_SUFFIX}")):
            try:
                data = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(data, dict) and data.get("url") and isinstance(data.get("harvest"), dict):
                path = sidecar.with_name(sidecar.name[: -len(SIDECAR_SUFFIX)])
                found[str(data["url"])] = MirrorItem(path, data)
        return found

    def write(self, spec: SourceSpec, url: str, extension: str, body: bytes, sidecar: dict[str, Any],
              previous: MirrorItem | None = None) -> Path:
        """Save an item's bytes and its sidecar (the sidecar last: a file is never described before it is there).
        An earlier copy under another extension (the page became a PDF) is removed."""
        path = self.folder(spec) / item_file_name(url, extension)
        write_atomically(path, body)
        write_atomically(sidecar_for(path), _json_bytes(sidecar))
        if previous is not None and previous.path != path:
            for old in (previous.path, sidecar_for(previous.path)):
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
        return path

    def rewrite_sidecar(self, item: MirrorItem, sidecar: dict[str, Any]) -> None:
        write_atomically(sidecar_for(item.path), _json_bytes(sidecar))
        item.sidecar = sidecar

    # -- the harvest's memory ----------------------------------------------------------------------

    def _state_path(self, spec: SourceSpec) -> Path:
        return self.root / STATE_DIR / "state" / f"{spec.folder}.json"

    def load_state(self, spec: SourceSpec) -> SourceState:
        try:
            return SourceState.from_dict(json.loads(self._state_path(spec).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return SourceState()  # none yet, or damaged: the next fetches are unconditional, nothing else is lost

    def save_state(self, spec: SourceSpec, state: SourceState) -> None:
        write_atomically(self._state_path(spec), _json_bytes(state.to_dict()))

    def load_robots(self) -> RobotsMemory:
        try:
            data = json.loads((self.root / STATE_DIR / "robots.json").read_text(encoding="utf-8"))
            return RobotsMemory({origin: RobotsFile.from_dict(v) for origin, v in data.items()})
        except (OSError, ValueError, TypeError, AttributeError):
            return RobotsMemory()

    def save_robots(self, robots: RobotsMemory) -> None:
        write_atomically(self.root / STATE_DIR / "robots.json",
                         _json_bytes({origin: f.to_dict() for origin, f in sorted(robots.files.items())}))

    def save_report(self, run_id: str, report: dict[str, Any]) -> Path:
        path = self.root / STATE_DIR / "runs" / f"{run_id}.json"
        write_atomically(path, _json_bytes(report))
        return path
