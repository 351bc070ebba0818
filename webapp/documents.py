"""Document pages: a source's metadata and cleaned text, with the matched passage anchored.

:class:`DocumentPage` is built once and served as ``/documents/<id>`` and ``/api/documents/<id>``
(see ``webapp/resource.py``); ``/api/documents/<id>/related`` is its related sources alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from flask import Blueprint, abort, jsonify, url_for
from markupsafe import Markup, escape

from index.browse.taxonomy import theme_labels
from index.records import JUDGEMENT_AREAS, CouncilMention, Inspection, SourceRecord, ThemeTag
from index.search.facets import slugify
from index.storage.contract import PassageHit
from webapp.index_handle import get_index
from webapp.resource import Resource, council_ref, document_url, project_ref, route, source_json, theme_json
from webapp.takeaway import first_indexed
from webapp.views import http_url, int_arg, shortdate

bp = Blueprint("documents", __name__)
api = Blueprint("documents_api", __name__, url_prefix="/api")


@dataclass
class DocumentPage(Resource):
    """A source with its passages (offsets into ``record.content``), its original if it is a copy,
    its related sources, and the passage the page marks (``?passage=``), if any."""

    template: ClassVar[str] = "documents/show.html"
    record: SourceRecord
    passages: list[PassageHit]
    original: SourceRecord | None
    related: list[tuple[SourceRecord, float]]
    match: PassageHit | None

    def context(self) -> dict[str, Any]:
        text = self.record.content
        if self.match is not None:
            start, end = self.match.where.start, self.match.where.end
            parts = (text[:start], text[start:end], text[end:])
        else:
            parts = (text, "", "")
        return {**super().context(), "parts": parts, "rows": summary_rows(self.record, self.original),
                "attribution": ATTRIBUTIONS.get(self.record.licence or "")}

    def to_json(self) -> dict[str, Any]:
        record = self.record
        labels = theme_labels()
        return {
            **source_json(record), "authors": list(record.authors), "language": record.language,
            "format": record.format, "notes": record.notes, "provenance": dict(record.provenance),
            "councils": [council_ref(slugify(c.name), c.name, evidence=c.evidence) for c in record.tags.councils],
            "themes": [theme_json(t.id, labels.get(t.id, t.id), reason=t.reason, evidence=t.evidence,
                                  evidence_url=theme_evidence_url(record.id, t)) for t in record.tags.themes],
            "projects": [project_ref(p.slug, p.name, ordinal=p.ordinal, excerpt=p.excerpt,
                                     passage_url=document_url(record.id, p.ordinal)) for p in record.projects],
            "duplicate_of": source_json(self.original) if self.original else None,
            "alternates": [{"source_id": a.id, "name": a.title, "title": a.title, "publisher": a.publisher,
                            "url": http_url(a.url), "page_url": document_url(a.id)} for a in record.alternates],
            "inspection": record.inspection.to_dict() if record.inspection else None,
            "licence": record.licence, "attribution": ATTRIBUTIONS.get(record.licence or ""),
            "first_indexed": first_indexed(record),
            "original_gone": record.original_gone.to_dict() if record.original_gone else None,
            "text": record.content,
            "passages": [_passage_json(record.id, p) for p in self.passages],
            "related": [source_json(other, score=round(score, 4)) for other, score in self.related],
        }


def _passage_json(source_id: str, passage: PassageHit) -> dict[str, Any]:
    where = passage.where
    return {"passage_id": passage.id, "ordinal": where.ordinal, "start": where.start, "end": where.end,
            "page": where.page, "page_url": document_url(source_id, where.ordinal)}


def _record(document_id: str) -> SourceRecord:
    record = get_index().searcher().store.get_source(document_id)
    if record is None:
        abort(404)
    return record


def build_document(document_id: str) -> DocumentPage:
    searcher = get_index().searcher()
    store = searcher.store
    record = _record(document_id)
    passages = store.source_passages(document_id)
    ordinal = int_arg("passage", -1, 0, max(len(passages) - 1, 0))  # absent: no passage marked
    match = next((p for p in passages if p.where.ordinal == ordinal), None)
    original = store.get_sources([record.duplicate_of]).get(record.duplicate_of) if record.duplicate_of else None
    return DocumentPage(record, passages, original, get_index().served().browse.related_documents(document_id), match)


route(bp, api, "/documents/<document_id>", "show", build_document)


@api.get("/documents/<document_id>/related")
def related(document_id: str):
    record = _record(document_id)
    # ``similarity`` is the name this route was published with; ``score`` is the API's one name.
    return jsonify({"source_id": record.id, "document_id": record.id, "related": [
        source_json(other, score=round(score, 4), similarity=round(score, 4))
        for other, score in get_index().served().browse.related_documents(document_id)]})


# Where a field came from, in words, for the one origin a reader should weigh: a value read out of the text
# (a date found in it, say) rather than given with the source. Other origins (a sidecar file, the file's own
# metadata, a default) are how ingest works, not the reader's business.
ORIGINS = {"text": "worked out from the text"}


def summary_rows(record: SourceRecord, original: SourceRecord | None) -> list[dict[str, Any]]:
    """The rows of the document's GOV.UK summary list; every value escaped here, once."""
    prov = record.provenance

    def row(key: str, value: Markup, field: str | None = None) -> dict[str, Any]:
        origin = ORIGINS.get(prov.get(field) or "") if field else None
        return {"key": {"text": key}, "value": {"html": value + _note(origin)}}

    rows = []
    if record.authors:
        rows.append(row("Author", escape(", ".join(record.authors)), "authors"))
    if record.publisher:
        rows.append(row("Publisher", escape(record.publisher), "publisher"))
    if record.date:
        when = Markup('<time datetime="{}">{}</time>').format(record.date, shortdate(record.date))
        rows.append(row("Published", when, "date"))
    else:
        rows.append(row("Published", Markup("Date not known")))
    rows.append(row("Type", escape(record.type.capitalize())))
    if http_url(record.url) and record.original_gone is not None:
        # Not a link: it leads nowhere now. The address stays, for a citation or a web archive.
        gone = Markup('{} <span class="govuk-body-s app-result__meta">(no longer available; last seen '
                      '<time datetime="{}">{}</time>)</span>').format(
            record.url, record.original_gone.last_seen, shortdate(record.original_gone.last_seen))
        rows.append(row("Original", gone))
    elif http_url(record.url):
        link = Markup('<a class="govuk-link" rel="noopener" href="{0}">{0}</a>').format(record.url)
        rows.append(row("Original", link))
    else:
        # Never the file's name: how the service stores a source is nobody's business.
        rows.append(row("Original", Markup("No web address is known for it")))
    if record.inspection is not None:
        rows += _inspection_rows(record.inspection)
    named = [c for c in record.tags.councils if c.group is None]
    through = [c for c in record.tags.councils if c.group is not None]
    if named:
        rows.append(row("Councils named", _council_html(named)))
    if through:
        rows.append(row("Through a partnership", _council_html(through)))
    if record.tags.themes:
        rows.append(row("Themes", _theme_html(record)))
    if record.projects:
        rows.append(row("Projects named", Markup(", ").join(
            Markup('<a class="govuk-link" href="{}">{}</a>').format(url_for("browse.project", slug=p.slug), p.name)
            for p in record.projects)))
    if record.notes:
        rows.append(row("Notes", escape(record.notes)))
    if original:
        rows.append(row("Copy of", Markup('<a class="govuk-link" href="{}">{}</a> (this copy is not shown in results)')
                        .format(url_for("documents.show", document_id=original.id), original.title)))
    if record.alternates:
        rows.append(row("Also published as", _alternates_html(record)))
    return rows


# What a page showing a source under a licence must say.
ATTRIBUTIONS = {"OGL-3.0": "Contains public sector information licensed under the Open Government Licence v3.0."}


def _inspection_rows(inspection: Inspection) -> list[dict[str, Any]]:
    """Summary rows of an inspection: the council inspected, when, by whom, and each judgement."""
    def when(value: str | None) -> Markup:
        return Markup('<time datetime="{}">{}</time>').format(value, shortdate(value)) if value else Markup("")

    council = Markup('<a class="govuk-link" href="{}">{}</a>').format(
        url_for("browse.council", slug=slugify(inspection.council)), inspection.council)
    rows = [{"key": {"text": "Council inspected"}, "value": {"html": council}}]
    if inspection.start or inspection.end:
        rows.append({"key": {"text": "Inspected"}, "value": {"html": when(inspection.start) + Markup(" to ")
                                                              + when(inspection.end)}})
    if inspection.lead_inspector:
        rows.append({"key": {"text": "Lead inspector"}, "value": {"text": inspection.lead_inspector}})
    for judgement in inspection.judgements:
        label = JUDGEMENT_AREAS.get(judgement.area, judgement.area)
        rows.append({"key": {"text": label}, "value": {"html": Markup('<strong class="govuk-tag app-grade">{}</strong>')
                                                       .format(judgement.grade.capitalize())}})
    return rows


def _list(items: list[Markup]) -> Markup:
    return Markup('<ul class="govuk-list">') + Markup("").join(Markup("<li>") + i + Markup("</li>") for i in items) + \
        Markup("</ul>")


def _note(text: Any) -> Markup:
    if not text:
        return Markup()
    return Markup(' <span class="govuk-body-s app-result__meta">(') + escape(text) + Markup(")</span>")


def _council_html(councils: list[CouncilMention]) -> Markup:
    return _list([Markup('<a class="govuk-link" href="{}">{}</a>').format(url_for("browse.council",
                                                                                  slug=slugify(c.name)), c.name)
                  + _note(_council_evidence(c)) for c in councils])


def _council_evidence(council: CouncilMention) -> str:
    if council.group is not None:
        return f"not named, but part of {council.group}"
    return f"“{council.evidence}”" if council.evidence else ""


def _theme_html(record: SourceRecord) -> Markup:
    labels = theme_labels()
    return _list([Markup('<a class="govuk-link" href="{}">{}</a>').format(url_for("browse.theme", theme_id=t.id),
                                                                          labels.get(t.id, t.id))
                  + _note(theme_reason(t.reason)) + theme_evidence_html(record.id, t) for t in record.tags.themes])


def theme_evidence_url(source_id: str, tag: ThemeTag) -> str | None:
    """Our page for the source, scrolled to the passage that shows the theme (None when not known)."""
    return document_url(source_id, tag.passage) if tag.passage is not None else None


def theme_evidence_html(source_id: str, tag: ThemeTag) -> Markup:
    """"tagged because: “<the paragraph's opening>”", linked to its passage; nothing for tags without evidence
    (generations written before it was kept)."""
    if not tag.evidence:
        return Markup()
    url = theme_evidence_url(source_id, tag)
    quote = (Markup('<a class="govuk-link" href="{}">{}</a>').format(url, tag.evidence) if url
             else escape(tag.evidence))
    return Markup('<br><span class="govuk-body-s app-theme-evidence">tagged because: “') + quote + Markup("”</span>")


_KEYWORDS = re.compile(r"keywords: (?P<words>.+?)(?: \((?P<n>\d+) mentions\))?$")


def theme_reason(reason: str) -> str:
    """Why a source is on a theme, in words: ingest's "keywords: ofsted, inspection (12 mentions)" becomes
    "mentions ofsted, inspection (12 times)"; a similarity score is never shown."""
    found = _KEYWORDS.match(reason)
    if found:
        times = f" ({found['n']} times)" if found["n"] else ""
        return f"mentions {found['words']}{times}"
    return "" if re.search(r"\d\.\d", reason) else reason


def _alternates_html(record: SourceRecord) -> Markup:
    items = []
    for alt in record.alternates:
        link = Markup('<a class="govuk-link" href="{}">{}</a>').format(
            url_for("documents.show", document_id=alt.id), alt.title)
        if alt.publisher:
            link += _note(alt.publisher)
        items.append(link)
    return _list(items)
