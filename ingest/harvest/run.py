"""One ``kb harvest`` run: every source's listing read, what is new or changed fetched into the mirror, a report.

For each source (in parallel across sources; requests to one host still take turns):

1. its listing (feed, sitemap, listing page) is asked for with the validators of last time; a 304
   reuses the items it named then;
2. each item the filters admit, and each copy the mirror already holds, is asked for with its copy's
   validators: 304 leaves it be, 200 with other bytes replaces the copy (new or changed), 404/410 or
   a redirect to the home page marks the copy's sidecar ``original_gone`` (the copy stays, and stays
   searchable). A copy already marked gone is asked for again only when a listing names it again;
3. new items beyond ``max_items`` wait for the next run.

A source whose listing cannot be read is reported failed with the reason; the others go on, and
the copies it has are kept as they are.

Usage::

    report = run_harvest(load_sources("sources.yaml"), Path("mirror"), settings)
    print(report.summary())
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from index.settings import Settings
from ingest.harvest.content import NotADocument, document_extension
from ingest.harvest.fetch import Fetched, Fetcher, Politeness, Tally, size_words
from ingest.harvest.listings import Item, NotAListing, feed_items, page_items, sitemap_items
from ingest.harvest.mirror import Listing, Mirror, MirrorItem, SourceState
from ingest.harvest.sources import SourceSpec

logger = logging.getLogger(__name__)

# Sources harvested at once (each waits its turn per host; these only overlap different hosts).
PARALLEL_SOURCES = 4
# Item lines printed per source and kind in the text report (the JSON report has them all).
LINES_PER_KIND = 10


@dataclass(frozen=True)
class ItemNote:
    """One item and what happened to it, in words."""

    url: str
    reason: str


@dataclass
class SourceReport:
    """What one source's harvest did. ``status``: ok, partial (some items failed) or failed (nothing read)."""

    name: str
    kind: str
    url: str
    status: str = "ok"
    reason: str | None = None
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    gone: list[ItemNote] = field(default_factory=list)
    failed: list[ItemNote] = field(default_factory=list)
    skipped: list[ItemNote] = field(default_factory=list)
    requests: int = 0
    not_modified: int = 0
    bytes: int = 0
    waited_s: float = 0.0
    seconds: float = 0.0

    def line(self) -> str:
        if self.status == "failed":
            return f"{self.name} ({self.kind} {self.url}): FAILED: {self.reason}; copies kept as they were."
        return (f"{self.name} ({self.kind}): {len(self.new)} new, {len(self.changed)} changed, {self.unchanged} "
                f"unchanged, {len(self.gone)} gone, {len(self.failed)} failed, {len(self.skipped)} skipped; "
                f"{self.requests} requests ({self.not_modified} not modified), {size_words(self.bytes)}, "
                f"{self.seconds:.1f} s")

    def details(self) -> list[str]:
        lines = []
        for kind, notes in (("new", [ItemNote(u, "") for u in self.new]),
                            ("changed", [ItemNote(u, "") for u in self.changed]),
                            ("gone", self.gone), ("failed", self.failed), ("skipped", self.skipped)):
            for note in notes[:LINES_PER_KIND]:
                lines.append(f"  {kind}: {note.url}" + (f": {note.reason}" if note.reason else ""))
            if len(notes) > LINES_PER_KIND:
                lines.append(f"  … and {len(notes) - LINES_PER_KIND} more {kind} (see the JSON report)")
        return lines


@dataclass
class HarvestReport:
    """What one harvest did; ``to_dict`` is the ``--json`` contract and what ``.harvest/runs/`` keeps."""

    run_id: str
    mirror: str
    sources: list[SourceReport]
    seconds: float
    report_file: str | None = None

    @property
    def failed_sources(self) -> list[SourceReport]:
        return [s for s in self.sources if s.status == "failed"]

    @property
    def ok(self) -> bool:
        return all(s.status == "ok" for s in self.sources)

    def totals(self) -> dict[str, int]:
        return {"new": sum(len(s.new) for s in self.sources), "changed": sum(len(s.changed) for s in self.sources),
                "unchanged": sum(s.unchanged for s in self.sources), "gone": sum(len(s.gone) for s in self.sources),
                "failed": sum(len(s.failed) for s in self.sources),
                "skipped": sum(len(s.skipped) for s in self.sources),
                "requests": sum(s.requests for s in self.sources),
                "not_modified": sum(s.not_modified for s in self.sources),
                "bytes": sum(s.bytes for s in self.sources), "failed_sources": len(self.failed_sources)}

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "mirror": self.mirror, "seconds": round(self.seconds, 3),
                "totals": self.totals(), "sources": [asdict(s) for s in self.sources]}

    def summary(self) -> str:
        lines = []
        for source in self.sources:
            lines.append(source.line())
            lines += source.details()
        t = self.totals()
        failed = f" ({t['failed_sources']} failed)" if t["failed_sources"] else ""
        lines.append(f"Harvest of {len(self.sources)} sources{failed}: {t['new']} new, {t['changed']} changed, "
                     f"{t['unchanged']} unchanged, {t['gone']} gone, {t['failed']} failed, {t['skipped']} skipped; "
                     f"{t['requests']} requests ({t['not_modified']} not modified), {size_words(t['bytes'])} in "
                     f"{self.seconds:.1f} s. Next: kb reindex {self.mirror}")
        return "\n".join(lines)


class _SourceFailed(Exception):
    pass


@dataclass
class _Run:
    """What every source's harvest shares."""

    mirror: Mirror
    fetcher: Fetcher
    max_items: int
    today: str
    now: str


def run_harvest(specs: list[SourceSpec], mirror_dir: str | Path, settings: Settings) -> HarvestReport:
    """Harvest every source into ``mirror_dir`` (see the module docstring).

    :raises HarvestError: when no contact address is set or the mirror cannot be written.
    :raises LockHeldError: when another harvest is writing the mirror.
    """
    started = time.perf_counter()
    politeness = Politeness.from_settings(settings)
    mirror = Mirror(mirror_dir)
    clock = datetime.now(UTC)
    run_id = clock.strftime("%Y%m%dT%H%M%S%f")
    with mirror.lock():
        robots = mirror.load_robots()
        with Fetcher(politeness, robots) as fetcher:
            run = _Run(mirror, fetcher, settings.harvest_max_items, clock.date().isoformat(),
                       clock.isoformat(timespec="seconds"))
            with ThreadPoolExecutor(max_workers=max(1, min(PARALLEL_SOURCES, len(specs))),
                                    thread_name_prefix="harvest") as pool:
                reports = list(pool.map(lambda spec: _harvest_source(spec, run), specs))
        mirror.save_robots(robots)
        report = HarvestReport(run_id, str(mirror_dir), reports, time.perf_counter() - started)
        report.report_file = str(mirror.save_report(run_id, report.to_dict()))
    return report


def _harvest_source(spec: SourceSpec, run: _Run) -> SourceReport:
    started = time.perf_counter()
    report = SourceReport(spec.name, spec.kind, spec.url)
    tally = Tally()
    state = run.mirror.load_state(spec)
    try:
        listed = _listed_items(spec, run, state, tally)
        _harvest_items(spec, run, state, listed, report, tally)
        if report.failed:
            report.status = "partial"
    except _SourceFailed as exc:
        report.status, report.reason = "failed", str(exc)
    except Exception as exc:  # one source's surprise must not stop the others; the report names it
        logger.exception("harvest of %s stopped", spec.name)
        report.status, report.reason = "failed", f"stopped by an unexpected error ({type(exc).__name__}: {exc})"
    finally:
        try:
            run.mirror.save_state(spec, state)
        except OSError as exc:  # the copies are written; only next run's validators are lost
            report.status = "failed"
            report.reason = f"what was fetched is in the mirror, but its state could not be saved ({exc.strerror})"
        report.requests, report.not_modified, report.bytes = tally.requests, tally.not_modified, tally.bytes
        report.waited_s = round(tally.waited_s, 3)
        report.seconds = round(time.perf_counter() - started, 3)
    logger.info("%s", report.line())
    return report


def _read_listing(url: str, what: str, run: _Run, state: SourceState, tally: Tally) -> tuple[Listing, bytes | None]:
    """A listing as it stands: fetched again if it changed (then with its body), else as remembered."""
    known = state.listings.get(url)
    got = run.fetcher.fetch(url, tally, known.etag if known else None, known.last_modified if known else None)
    if got.outcome == "not_modified" and known is not None:
        return known, None
    if got.outcome != "ok":
        raise _SourceFailed(f"the {what} {url} {_outcome_words(got)}")
    return Listing(got.etag, got.last_modified), got.body


def _listed_items(spec: SourceSpec, run: _Run, state: SourceState, tally: Tally) -> list[Item]:
    """The items the source's listing names now (before the filters)."""
    listing, body = _read_listing(spec.url, spec.kind, run, state, tally)
    if body is not None:
        try:
            if spec.kind == "feed":
                listing.items = feed_items(body, spec.url)
            elif spec.kind == "page":
                listing.items = page_items(body, spec.url)
            else:
                listing.items, listing.children = sitemap_items(body, run.fetcher.politeness.max_bytes)
        except NotAListing as exc:
            raise _SourceFailed(f"the {spec.kind} {spec.url} {exc}") from None
    fresh = {spec.url: listing}
    items = list(listing.items)
    for child in listing.children:  # a sitemap index: its sitemaps, one level
        try:
            child_listing, child_body = _read_listing(child, "sitemap", run, state, tally)
            if child_body is not None:
                child_listing.items, _ = sitemap_items(child_body, run.fetcher.politeness.max_bytes)
        except (_SourceFailed, NotAListing) as exc:
            logger.warning("%s: sitemap %s skipped: %s", spec.name, child, exc)
            continue
        fresh[child] = child_listing
        items += child_listing.items
    state.listings = fresh
    return items


def _harvest_items(spec: SourceSpec, run: _Run, state: SourceState, listed: list[Item], report: SourceReport,
                   tally: Tally) -> None:
    known = run.mirror.items(spec)
    admitted = [i for i in listed if spec.filters.admit(i.url, i.title, i.categories)]
    listed_urls = {i.url for i in admitted}
    # Copies the listing no longer names are still asked after: that is how a removed page is noticed.
    todo = admitted + [Item(url) for url in known if url not in listed_urls]
    budget = spec.max_items or run.max_items
    fetched_new = 0
    for item in todo:
        copy = known.get(item.url)
        if copy is not None and copy.gone and item.url not in listed_urls:
            report.skipped.append(ItemNote(item.url, f"gone since {copy.gone.get('noticed')}; asked again only "
                                                     "if a listing names it again"))
            continue
        if copy is None and fetched_new >= budget:
            report.skipped.append(ItemNote(item.url, f"over this run's {budget} new items (max_items); next run"))
            continue
        if copy is not None and _unchanged_by_lastmod(item, copy):
            report.unchanged += 1
            continue
        etag, modified = copy.validators() if copy is not None else (None, None)
        got = run.fetcher.fetch(item.url, tally, etag, modified)
        if copy is None and got.outcome not in ("disallowed",):
            fetched_new += 1
        _settle(spec, run, state, item, copy, got, report)


def _unchanged_by_lastmod(item: Item, copy: MirrorItem) -> bool:
    """A sitemap's lastmod older than the day the copy was fetched: no request needed."""
    fetched = str(copy.harvest.get("fetched") or "")[:10]
    if not item.lastmod or not fetched or copy.gone is not None:
        return False
    try:
        return date.fromisoformat(item.lastmod[:10]) < date.fromisoformat(fetched)
    except ValueError:
        return False


def _settle(spec: SourceSpec, run: _Run, state: SourceState, item: Item, copy: MirrorItem | None, got: Fetched,
            report: SourceReport) -> None:
    """Record what one item's answer means for its copy."""
    url = item.url
    if got.outcome == "disallowed":
        report.skipped.append(ItemNote(url, got.reason))
    elif got.outcome == "failed":
        report.failed.append(ItemNote(url, got.reason + ("; the copy is kept" if copy is not None else "")))
    elif got.outcome == "gone":
        if copy is None:
            report.failed.append(ItemNote(url, f"listed, but {got.reason}"))
        elif copy.gone is not None:
            report.unchanged += 1
        else:
            last_seen = state.last_seen.get(url) or str(copy.harvest.get("fetched") or run.today)[:10]
            gone = {"last_seen": last_seen, "noticed": run.today, "reason": got.reason}
            run.mirror.rewrite_sidecar(copy, {**copy.sidecar, "original_gone": gone})
            report.gone.append(ItemNote(url, f"{got.reason}; the copy stays searchable, marked as last seen "
                                             f"{last_seen}"))
    elif got.outcome == "not_modified":
        state.last_seen[url] = run.today
        if copy is not None and copy.gone is not None:
            run.mirror.rewrite_sidecar(copy, _without_gone(copy.sidecar))
            report.changed.append(url)
        else:
            report.unchanged += 1
    else:
        try:
            extension = document_extension(got.final_url, got.content_type, got.body)
        except NotADocument as exc:
            report.failed.append(ItemNote(url, f"refused: it {exc}" + ("; the copy is kept" if copy else "")))
            return
        state.last_seen[url] = run.today
        harvest = {"source": spec.name, "listed_in": spec.url, "fetched": run.now, "etag": got.etag,
                   "last_modified": got.last_modified, "content_type": got.content_type or None,
                   "final_url": got.final_url if got.final_url != url else None}
        harvest = {k: v for k, v in harvest.items() if v is not None}
        if copy is not None and copy.path.suffix == extension and _same_bytes(copy.path, got.body):
            # The same bytes: the copy stands; only new validators are written (for next time's 304).
            old = copy.harvest
            if (old.get("etag"), old.get("last_modified")) != (got.etag, got.last_modified) or copy.gone:
                sidecar = _without_gone({**copy.sidecar, "harvest": {**harvest, "fetched": old.get("fetched",
                                                                                                   run.now)}})
                run.mirror.rewrite_sidecar(copy, sidecar)
            if copy.gone:
                report.changed.append(url)
            else:
                report.unchanged += 1
            return
        run.mirror.write(spec, url, extension, got.body, _sidecar(spec, item, copy, harvest), copy)
        (report.changed if copy is not None else report.new).append(url)


def _sidecar(spec: SourceSpec, item: Item, copy: MirrorItem | None, harvest: dict[str, Any]) -> dict[str, Any]:
    """The sidecar of a new or changed copy: what a feed says of the item (its title, authors and date; kept from
    the last copy when the feed no longer names it), and the source's publisher, type and licence. A listing
    page's link text ("Read more") is no title: the document's own title is read at ingest."""
    old = copy.sidecar if copy is not None and spec.kind == "feed" else {}
    said = {"title": item.title, "authors": list(item.authors) or None, "date": item.date} \
        if spec.kind == "feed" else {}
    described = {**said, "publisher": spec.publisher or item.publisher, "type": spec.type, "licence": spec.licence}
    sidecar: dict[str, Any] = {"url": item.url}
    for key, value in described.items():
        value = value if value is not None else old.get(key)
        if value is not None:
            sidecar[key] = value
    sidecar["harvest"] = harvest
    return sidecar


def _without_gone(sidecar: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sidecar.items() if k != "original_gone"}


def _same_bytes(path: Path, body: bytes) -> bool:
    try:
        return path.stat().st_size == len(body) and path.read_bytes() == body
    except OSError:
        return False


def _outcome_words(got: Fetched) -> str:
    if got.outcome == "disallowed":
        return f"is not fetched: {got.reason}"
    if got.outcome == "gone":
        return f"{got.reason}: has it moved? Check the address in the sources file"
    if got.outcome == "not_modified":
        return "answered 304 Not Modified to a first request"
    return got.reason
