"""Taking sources away: a citation to copy, exports (RIS, BibTeX, CSV, CSL-JSON) and an Atom feed per search.

- ``/search/export?q=...&format=ris`` (the results page's form; ``id=`` for the ticked sources) and
  ``/api/search?...&format=ris|bibtex|csv|csljson|atom``: the first :data:`EXPORT_LIMIT` sources of the
  search, in its order, or the ticked ones;
- ``/api/documents/<id>?format=ris|bibtex|csv|csljson``: one source;
- ``/search.atom?q=...``: the search's sources, newest *first indexed* first, for alert subscriptions
  (Outlook, Teams, any feed reader): a source indexed tonight is new tomorrow whatever its publication date.

The ``format`` parameter of the API routes is answered here: :data:`webapp.resource.FORMATS` maps an
API endpoint to its exporter.

Usage::

    citation_for(record).text()  # "Ofsted (2019) Title. Available at: https://... (Accessed: 24 November 2026)."
    citation_for(record, page=5).in_text()  # "(Ofsted, 2019, p. 5)"
    ris([entry, ...]); bibtex([...]); csv_text([...]); csl_json([...]); atom_feed(entries, ...)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

import rispy
from bibtexparser.bibdatabase import BibDatabase
from bibtexparser.bwriter import BibTexWriter
from feedgen.feed import FeedGenerator
from flask import Blueprint, Flask, Response, abort, request, url_for
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from index.errors import QueryError
from index.names import kind_of
from index.params import checked_sort, paging_args
from index.records import SourceRecord
from index.search.facets import FACETS, FacetSelection
from index.search.results import SourceResult
from webapp.index_handle import get_index
from webapp.pasted import text_for
from webapp.resource import FORMATS
from webapp.views import http_url, settings

bp = Blueprint("takeaway", __name__)

# Exports and feeds cover at most this many sources of a search (its first, in its order): enough
# for a literature list, small enough to answer in a moment on any corpus.
EXPORT_LIMIT = 500
# Entries in a feed: the newest first-indexed of the search's sources.
FEED_ENTRIES = 50
# Ticked sources accepted in one export, and the longest source id.
MAX_TICKED = EXPORT_LIMIT
MAX_ID_CHARS = 200

EXPORT_FORMATS = {
    "ris": ("application/x-research-info-systems; charset=utf-8", "ris"),
    "bibtex": ("application/x-bibtex; charset=utf-8", "bib"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "csljson": ("application/vnd.citationstyles.csl+json; charset=utf-8", "json"),
}
FEED_TYPE = "application/atom+xml; charset=utf-8"

# Our source types as RIS reference types and BibTeX entry types.
RIS_TYPES = {"report": "RPRT", "inspection": "RPRT", "evaluation": "RPRT", "article": "ELEC", "news": "NEWS",
             "blog": "BLOG", "storify": "ELEC"}
BIBTEX_TYPES = {"report": "techreport", "inspection": "techreport", "evaluation": "techreport"}


# -- what is exported ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One source as exports, citations and feeds describe it.

    ``authors`` are the persons the source names as its authors (ingest/authors.py); with none, the
    publisher is the corporate author. ``url`` is the original publication's address only; ``page_url``
    is our copy, never cited as the original.
    """

    source_id: str
    title: str
    type: str
    authors: tuple[str, ...]
    publisher: str | None
    date: str | None  # publication date, ISO 8601, when known
    url: str | None  # the original publication (http(s) only)
    page_url: str  # our page for it, absolute
    first_indexed: str | None = None
    lead_inspector: str | None = None  # an inspection's, as the report names them

    @property
    def year(self) -> str | None:
        return self.date[:4] if self.date and self.date[:4].isdigit() else None

    @property
    def corporate(self) -> str | None:
        """The organisation cited as author: the publisher, when no person is named."""
        return None if self.authors else self.publisher

    @classmethod
    def of(cls, item: SourceRecord | SourceResult) -> Entry:
        source_id = item.id if isinstance(item, SourceRecord) else item.document_id
        first = item.first_indexed if isinstance(item, SourceRecord) else None
        lead = item.inspection.lead_inspector if item.inspection else None
        return cls(source_id=source_id, title=item.title, type=item.type, authors=tuple(item.authors),
                   publisher=item.publisher, date=item.date, url=http_url(item.url),
                   page_url=url_for("documents.show", document_id=source_id, _external=True), first_indexed=first,
                   lead_inspector=lead)


def long_date(value: date) -> str:
    """'24 November 2026', as Harvard's "Accessed" date is written."""
    return f"{value.day} {value:%B %Y}"


def split_name(name: str) -> tuple[str, str] | None:
    """(family, given) of a person's name ("Niamh O’Brien" → ("O’Brien", "Niamh")), or None for an
    organisation's name or one not written as a person's."""
    if kind_of(name)[0] != "person":
        return None
    words = name.split()
    return words[-1], " ".join(words[:-1])


def harvard_name(name: str) -> str:
    """A person as Cite Them Right lists them, "O’Brien, N." ("Mary-Jane Smith" → "Smith, M.-J."); an
    organisation as it is."""
    split = split_name(name)
    if split is None:
        return name
    family, given = split
    initials = " ".join("-".join(part[0] + "." for part in word.split("-") if part) for word in given.split())
    return f"{family}, {initials}"


def pages_text(page: int | None, page_end: int | None = None) -> str | None:
    """'p. 5' or 'pp. 5–6'."""
    if page is None:
        return None
    return f"pp. {page}–{page_end}" if page_end is not None and page_end != page else f"p. {page}"


@dataclass(frozen=True)
class Citation:
    """A Harvard reference in the Cite Them Right form: Author (Year) *Title*, p. N. Publisher. Available at:
    URL (Accessed: date).

    ``who`` is the persons (surname first) or else the corporate author (the publisher); empty when
    neither is known, and then the title leads. ``url`` is the original's address only: where none is
    known the reference has no "Available at" (our copy is not the publication). ``pages`` is the page
    (or range) of the passage cited, for a reference made from a passage.
    """

    who: str
    year: str
    title: str
    publisher: str | None
    url: str | None
    accessed: str
    pages: str | None = None
    short_who: str = ""  # for the citation in the text: "Ofsted", "O’Brien and Acton"

    def _parts(self) -> tuple[str, str, str]:
        """(before the title, the title, after it); without an author the title leads."""
        title = self.title.strip()
        pages = f", {self.pages}" if self.pages else ""
        publisher = f" {self.publisher}." if self.publisher else ""
        available = f" Available at: {self.url} (Accessed: {self.accessed})." if self.url else ""
        if not self.who:  # then there is no publisher either
            return "", title.rstrip("."), f" ({self.year}){pages}.{publisher}{available}"
        stop = "" if title.endswith((".", "?", "!")) and not pages else "."
        return f"{self.who} ({self.year}) ", title.rstrip(".") if pages else title, pages + stop + publisher + available

    def text(self) -> str:
        return "".join(self._parts())

    def html(self) -> Markup:
        """The reference with its title in italics, as Harvard sets it."""
        before, title, after = self._parts()
        return escape(before) + Markup("<i>{}</i>").format(title) + escape(after)

    def in_text(self) -> str:
        """The citation in the text: "(Ofsted, 2019, p. 5)"; the title stands in for a missing author."""
        who = self.short_who or self.who or self.title.strip().rstrip(".")
        pages = f", {self.pages}" if self.pages else ""
        return f"({who}, {self.year}{pages})"


def _names(authors: Sequence[str]) -> str:
    if len(authors) <= 1:
        return "".join(authors)
    return ", ".join(authors[:-1]) + " and " + authors[-1]


def _short_names(authors: Sequence[str]) -> str:
    """Surnames as the citation in the text gives them: one, two ("A and B"), three, or the first "et al."."""
    family = [split[0] if (split := split_name(a)) else a for a in authors]
    return family[0] + " et al." if len(family) > 3 else _names(family)


def citation_for(item: SourceRecord | SourceResult | Entry, accessed: date | None = None,
                 page: int | None = None, page_end: int | None = None) -> Citation:
    """The Harvard reference of a source (with the page of the passage cited, when given): its persons, else
    its publisher as corporate author; its original's address only."""
    entry = item if isinstance(item, Entry) else Entry.of(item)
    who = _names([harvard_name(a) for a in entry.authors]) or entry.publisher or ""
    short = _short_names(entry.authors) if entry.authors else who
    # The publisher is named once when it is also the author.
    publisher = entry.publisher if entry.authors and entry.publisher else None
    return Citation(who=who, year=entry.year or "no date", title=entry.title, publisher=publisher,
                    url=entry.url, accessed=long_date(accessed or datetime.now(UTC).date()),
                    pages=pages_text(page, page_end), short_who=short)


def passage_citation(result: SourceResult) -> Citation:
    """The reference of a search result, with the page of its first passage shown."""
    first = result.passages[0] if result.passages else None
    return citation_for(result, page=first.page if first else None, page_end=first.page_end if first else None)


def _notes(e: Entry) -> list[str]:
    """What a reference manager keeps as notes: the lead inspector, and our copy (never as the URL)."""
    notes = [f"Lead inspector: {e.lead_inspector}"] if e.lead_inspector else []
    notes.append(f"Copy consulted in innovation-kb: {e.page_url}")
    return notes


# -- formats ---------------------------------------------------------------------------------------

class _RisWriter(rispy.RisWriter):
    """rispy's RIS writer without its numbered line before each record (not part of RIS; some readers balk)."""

    def set_header(self, count: int) -> str:
        return ""


def ris_name(name: str) -> str:
    """A person as RIS writes one, "Family, Given"; an organisation with a trailing comma ("Ofsted,"), the
    convention EndNote and Zotero read as one name that is not to be split into first and last."""
    split = split_name(name)
    return f"{split[0]}, {split[1]}" if split else name.rstrip(",") + ","


def ris(entries: Sequence[Entry], accessed: date | None = None) -> str:
    """RIS (EndNote, Zotero, Mendeley, RefWorks), written by rispy. ``AU`` holds persons as "Family,
    Given"; with none, the corporate author (the publisher, with RIS's trailing comma), and ``PB`` the
    publisher. ``UR`` is the original only; our copy is a note."""
    when = (accessed or datetime.now(UTC).date()).strftime("%Y/%m/%d")
    records = []
    for e in entries:
        record: dict[str, Any] = {"type_of_reference": RIS_TYPES.get(e.type, "GEN"), "title": e.title,
                                  "id": e.source_id, "notes": _notes(e)}
        if e.url:
            record["urls"] = [e.url]
            record["access_date"] = when
        if e.authors:
            record["authors"] = [ris_name(a) for a in e.authors]
        elif e.corporate:  # an organisation, whatever its name looks like ("Community Care")
            record["authors"] = [e.corporate.rstrip(",") + ","]
        if e.publisher:
            record["publisher"] = e.publisher
        if e.year:
            record["year"] = e.year
        if e.date:
            record["date"] = e.date[:10].replace("-", "/")
        records.append(record)
    return rispy.dumps(records, implementation=_RisWriter)


# Braces become commands, not ``\{``: BibTeX counts every brace, escaped or not, so a title with one
# unbalanced brace would swallow the rest of the file.
_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}", "&": r"\&",
                   "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}",
                   "^": r"\textasciicircum{}"}
_LATEX_PATTERN = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))


def latex_escape(value: str) -> str:
    """Text as a BibTeX field's value: LaTeX's special characters escaped, so braces always balance."""
    return _LATEX_PATTERN.sub(lambda m: _LATEX_SPECIALS[m.group()], " ".join(value.split()))


def _bibtex_key(entry: Entry, taken: set[str]) -> str:
    """A citation key such as ``ofsted2019reclaiming``: ASCII letters and digits, unique in the file."""
    def word(text: str) -> str:
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
        words = [w for w in re.findall(r"[a-z0-9]+", ascii_text) if w not in {"the", "a", "an", "of", "and"}]
        return words[0] if words else ""

    who = entry.authors[0].split()[-1] if entry.authors and entry.authors[0].split() else entry.publisher or ""
    key = (word(who) or "source") + (entry.year or "") + word(entry.title)
    if key in taken:
        key += hashlib.sha1(entry.source_id.encode()).hexdigest()[:6]
    taken.add(key)
    return key


def bibtex_name(name: str) -> str:
    """A person as "Family, Given"; an organisation in a second pair of braces, so BibTeX reads it as one
    name and never as a person surnamed "Education"."""
    split = split_name(name)
    if split:
        return f"{latex_escape(split[0])}, {latex_escape(split[1])}"
    return "{" + latex_escape(name) + "}"


def bibtex(entries: Sequence[Entry], accessed: date | None = None) -> str:
    """BibTeX (biblatex's ``url`` and ``urldate`` fields, read by BibTeX's ``url`` styles too), written by
    bibtexparser with every value escaped here. Only what is known is written: no placeholder values."""
    when = (accessed or datetime.now(UTC).date()).isoformat()
    database = BibDatabase()
    taken: set[str] = set()
    for e in entries:
        # A report whose institution is not known is a @misc: @techreport requires one, and "Unknown" is not one.
        kind = BIBTEX_TYPES.get(e.type, "misc") if e.publisher else "misc"
        fields = {"ENTRYTYPE": kind, "ID": _bibtex_key(e, taken), "title": latex_escape(e.title),
                  "note": latex_escape(". ".join(_notes(e)))}
        if e.url:
            fields.update(url=latex_escape(e.url), urldate=when)
        if e.authors:
            # ``and`` separates BibTeX names; the extra braces keep an organisation's name whole.
            fields["author"] = " and ".join(bibtex_name(a) for a in e.authors)
        elif e.corporate:
            fields["author"] = "{" + latex_escape(e.corporate) + "}"
        if e.publisher:
            fields["institution" if kind == "techreport" else "publisher"] = latex_escape(e.publisher)
        if e.year:
            fields["year"] = e.year
        if e.date:
            fields["date"] = e.date[:10]
        database.entries.append(fields)
    writer = BibTexWriter()
    writer.order_entries_by = None  # the search's order
    writer.indent = "  "
    return writer.write(database)


# Our source types as CSL item types (what Zotero, Mendeley and citeproc read).
CSL_TYPES = {"report": "report", "inspection": "report", "evaluation": "report", "article": "webpage",
             "news": "article-newspaper", "blog": "post-weblog", "storify": "webpage"}


def _date_parts(value: str) -> dict[str, Any]:
    parts = [int(p) for p in value[:10].split("-") if p.isdigit()]
    return {"date-parts": [parts]}


def csl_item(e: Entry, accessed: date | None = None) -> dict[str, Any]:
    """One source as a CSL-JSON item: persons as family/given, an organisation as a ``literal`` name."""
    item: dict[str, Any] = {"id": e.source_id, "type": CSL_TYPES.get(e.type, "document"), "title": e.title,
                            "note": "\n".join(_notes(e))}
    if e.authors:
        item["author"] = [{"family": split[0], "given": split[1]} if (split := split_name(a)) else {"literal": a}
                          for a in e.authors]
    elif e.corporate:
        item["author"] = [{"literal": e.corporate}]
    if e.publisher:
        item["publisher"] = e.publisher
    if e.date and e.date[:4].isdigit():
        item["issued"] = _date_parts(e.date)
    if e.url:
        item["URL"] = e.url
        item["accessed"] = _date_parts((accessed or datetime.now(UTC).date()).isoformat())
    if e.type == "inspection":
        item["genre"] = "Inspection report"
    return item


def csl_json(entries: Sequence[Entry], accessed: date | None = None) -> str:
    """CSL-JSON: the list of items Zotero, Mendeley and every CSL processor (citeproc-js, citeproc-py) read."""
    return json.dumps([csl_item(e, accessed) for e in entries], ensure_ascii=False, indent=2)


CSV_COLUMNS = ("title", "authors", "publisher", "published", "type", "original_url", "page_url", "first_indexed",
               "citation", "source_id")
# A cell a spreadsheet would run as a formula (or a DDE call) starts with one of these.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """The value, prefixed with ``'`` when a spreadsheet would take it for a formula (OWASP's advice)."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_text(entries: Sequence[Entry], accessed: date | None = None) -> str:
    """CSV for spreadsheets: one row per source, a UTF-8 byte order mark so Excel reads the accents."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        row = (e.title, "; ".join(e.authors), e.publisher or "", e.date or "", e.type, e.url or "", e.page_url,
               e.first_indexed or "", citation_for(e, accessed).text(), e.source_id)
        writer.writerow([spreadsheet_safe(str(cell)) for cell in row])
    return out.getvalue()


WRITERS = {"ris": ris, "bibtex": bibtex, "csv": csv_text, "csljson": csl_json}


def _timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value) if len(value) > 10 else datetime.fromisoformat(value + "T00:00:00")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# Characters XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/FFFF): a query or a
# source's title may carry them, and feedgen refuses the whole feed for one.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def atom_feed(entries: Sequence[Entry], *, title: str, self_url: str, page_url: str, fallback: str) -> str:
    """An Atom feed of ``entries``, newest first indexed first (``fallback``: the date of a source
    whose generation did not keep one).

    Each entry's ``published`` and ``updated`` are when the source was first indexed; its publication
    date is in the summary, so a 2019 report indexed today is a new entry today.
    """
    dated = sorted(entries, key=lambda e: _timestamp(e.first_indexed or fallback), reverse=True)[:FEED_ENTRIES]
    feed = FeedGenerator()
    feed.id(_xml_safe(self_url))
    feed.title(_xml_safe(title))
    feed.author({"name": "innovation-kb"})
    feed.link(href=_xml_safe(self_url), rel="self", type="application/atom+xml")
    feed.link(href=_xml_safe(page_url), rel="alternate", type="text/html")
    feed.subtitle("Sources matching this search, the most recently added first.")
    feed.updated(_timestamp(dated[0].first_indexed or fallback) if dated else _timestamp(fallback))
    for e in dated:
        item = feed.add_entry(order="append")
        item.id(e.page_url)
        item.title(_xml_safe(e.title))
        # One link only: feedgen 1.0 writes an entry's links without their rel, so a second link
        # (the original, as "related") would become a second "alternate", which Atom forbids.
        # The original's address is in the summary, and our page links it.
        item.link(href=e.page_url, rel="alternate", type="text/html")
        when = _timestamp(e.first_indexed or fallback)
        item.published(when)
        item.updated(when)
        if e.authors or e.publisher:  # else the feed's own author stands (Atom's rule), not "Unknown"
            item.author({"name": _xml_safe(_names(e.authors) or e.publisher or "")})
        item.category(term=e.type, label=e.type.capitalize())
        published = f"published {_human_date(e.date)}" if e.date else "publication date not known"
        by = f" by {e.publisher}" if e.publisher else ""
        original = f" The original: {e.url}" if e.url else ""
        item.summary(_xml_safe(f"{e.type.capitalize()}{by}, {published}; added to the search on "
                               f"{_human_date(when)}.{original} Cite as: {citation_for(e).text()}"))
    return feed.atom_str(pretty=True).decode("utf-8")


def _human_date(value: str | datetime) -> str:
    """'5 October 2016'; a bare year (or year and month) as it is."""
    if isinstance(value, str):
        if len(value) < 10:
            return value
        value = _timestamp(value)
    return long_date(value.date())


# -- which sources -------------------------------------------------------------------------------

def ticked_ids() -> list[str]:
    """The sources ticked on the results page (``id=`` repeated), checked.

    :raises QueryError: for too many, or an over-long id.
    """
    ids = list(dict.fromkeys(v.strip() for v in request.args.getlist("id") if v.strip()))
    if len(ids) > MAX_TICKED:
        raise QueryError(f"Tick at most {MAX_TICKED} sources to export (id was given {len(ids)} times).")
    if any(len(i) > MAX_ID_CHARS for i in ids):
        raise QueryError(f"id must be at most {MAX_ID_CHARS} characters: tick sources on the results page.")
    return ids


def search_source_ids(q: str, facets: FacetSelection, top_k: str | None = None, sort: str = "relevance"
                      ) -> list[str]:
    """The search's sources in its order, the first :data:`EXPORT_LIMIT`: the sources a first results
    page counts, ranked as it ranks them (:meth:`Searcher.rank` over the same candidates; with
    ``sort="date"`` the same sources newest first, as the page lists them), or without words the
    sources having the chosen filter values, newest first.

    :raises QueryError: without words or filters, or for a query that cannot be searched.
    """
    searcher = get_index().searcher()
    if not q.strip():
        if not facets:
            raise QueryError("Enter some words to search for, or choose a filter, before exporting or subscribing.")
        allowed = searcher.facet_table.matching(facets) or set()
        return [s for s in get_index().served().browse.sources if s in allowed][:EXPORT_LIMIT]
    filters = None
    if facets:
        allowed = searcher.facet_table.matching(facets) or set()
        filters = {"field": "meta.source_id", "operator": "in", "value": sorted(allowed)}
    # As many candidates as the first results page at the request's top_k (Searcher.search): the
    # same sources in the same order, all of those the page counts.
    page_size, _ = paging_args(top_k, None, searcher.settings)
    ranked = searcher.rank(q, EXPORT_LIMIT, filters, candidates=max(searcher.settings.candidates, page_size * 3))
    ids = [source_id for source_id, _ in ranked]
    return searcher.newest_first(ids) if sort == "date" else ids


def entries_for(source_ids: Sequence[str]) -> list[Entry]:
    """The sources' entries in the given order; ids no longer in the index are left out."""
    records = get_index().searcher().store.get_sources(source_ids)
    return [Entry.of(records[i]) for i in source_ids if i in records]


# The longest ``search`` field the results page's export form sends (a query string).
MAX_SEARCH_CHARS = 4000


@dataclass(frozen=True)
class SearchState:
    """The search being exported or subscribed to: its words, filters (with the year range), page size
    (``top_k``, text or None) and order."""

    q: str
    facets: FacetSelection
    top_k: str | None
    sort: str = "relevance"


def search_state() -> SearchState:
    """The search from the request's own parameters (the API, the feed), or from the ``search`` field
    of the results page's export form: the search's query string, in one field, because fields
    named like the filters (``type``, ``council``) outside the filters' form would be taken for them.

    :raises QueryError: for an over-long or malformed parameter, naming it.
    """
    args: MultiDict[str, str] = request.args
    packed = request.args.get("search")
    if packed is not None:
        if len(packed) > MAX_SEARCH_CHARS:
            raise QueryError(f"search must be at most {MAX_SEARCH_CHARS} characters: export from the results page.")
        args = MultiDict(parse_qsl(packed, keep_blank_values=True))
    q = args.get("q", "")
    if not q and args.get("r"):  # pasted text, held under an id (webapp/pasted.py)
        q = text_for(args.get("r", ""))
    if len(q) > settings().max_query_chars:
        raise QueryError(f"q must be at most {settings().max_query_chars} characters long.")
    facets = FacetSelection.parse({facet: args.getlist(facet) for facet in FACETS}, args.get("from"), args.get("to"))
    return SearchState(q, facets, args.get("top_k"), checked_sort(args.get("sort")))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text))[:60].strip("-")


def _download(body: str, fmt: str, name: str) -> Response:
    mimetype, extension = EXPORT_FORMATS[fmt]
    filename = f"innovation-kb-{_slug(name) or 'sources'}-{datetime.now(UTC):%Y-%m-%d}.{extension}"
    return Response(body, headers={"Content-Type": mimetype,
                                   "Content-Disposition": f'attachment; filename="{filename}"'})


def _format_arg(allowed: Sequence[str]) -> str:
    fmt = (request.args.get("format") or "").strip().lower()
    if fmt not in allowed:
        raise QueryError(f"format must be one of {', '.join(allowed)}.")
    return fmt


def export_search(fmt: str | None = None) -> Response:
    """The search's sources (or the ticked ones) as a file to download, or its feed for ``atom``."""
    fmt = fmt or _format_arg([*EXPORT_FORMATS, "atom"])
    if fmt == "atom":
        return search_feed()
    state = search_state()
    ids = ticked_ids()
    if ids:
        entries = entries_for(ids)
        if not entries:
            raise QueryError("None of the ticked sources is in the index any more: search again and tick them.")
    else:
        entries = entries_for(search_source_ids(state.q, state.facets, state.top_k, state.sort))
    return _download(WRITERS[fmt](entries), fmt, state.q or "sources")


def export_document(document_id: str) -> Response:
    """One source as a file to download (``/api/documents/<id>?format=ris``)."""
    fmt = _format_arg(list(EXPORT_FORMATS))
    record = get_index().searcher().store.get_source(document_id)
    if record is None:
        abort(404)
    return _download(WRITERS[fmt]([Entry.of(record)]), fmt, record.title)


def feed_url(q: str, facets: FacetSelection | None, external: bool = False) -> str:
    """The Atom feed of a search."""
    args: dict[str, Any] = {"q": q} if q else {}
    if facets:
        args.update(facets.url_args())
    return url_for("takeaway.feed", _external=external, **args)


@bp.get("/search.atom")
def feed() -> Response:
    return search_feed()


def search_feed() -> Response:
    """The Atom feed of a search: its first :data:`EXPORT_LIMIT` sources, newest first indexed first."""
    state = search_state()
    q, facets = state.q, state.facets
    searcher = get_index().searcher()
    entries = entries_for(search_source_ids(q, facets, state.top_k))
    labels = ", ".join(searcher.facet_table.label(f, v) for f, v in facets.as_args())
    if q.strip():
        title = f"innovation-kb: sources for “{q.strip()}”" + (f" ({labels})" if labels else "")
    else:
        title = f"innovation-kb: sources ({labels})"
    args: dict[str, Any] = {f: list(v) for f, v in facets.values.items() if v}
    page = url_for("search.results", _external=True, q=q, **args)
    body = atom_feed(entries, title=title, self_url=feed_url(q, facets, external=True), page_url=page,
                     fallback=searcher.generation.manifest.created or datetime.now(UTC).isoformat())
    return Response(body, headers={"Content-Type": FEED_TYPE})


def html_id(prefix: str, source_id: str) -> str:
    """An HTML id for a source's element: its id when that is safe (letters, digits, - and _), else a hash of it."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", source_id):
        return f"{prefix}-{source_id}"
    return f"{prefix}-{hashlib.sha1(source_id.encode()).hexdigest()[:16]}"


def first_indexed(record: SourceRecord) -> str:
    """When a source was first indexed; for a generation written before that was kept, its build time."""
    return record.first_indexed or get_index().searcher().generation.manifest.created


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    FORMATS["search_api.search"] = lambda **_: export_search()
    FORMATS["documents_api.show"] = lambda document_id: export_document(document_id)
    app.jinja_env.globals.update(citation_for=citation_for, passage_citation=passage_citation, feed_url=feed_url,
                                 export_limit=EXPORT_LIMIT,
                                 html_id=html_id, first_indexed=first_indexed)


@bp.get("/search/export")
def export_page() -> Response:
    """The results page's export form: ``format`` is the button pressed."""
    return export_search(_format_arg(list(EXPORT_FORMATS)))
