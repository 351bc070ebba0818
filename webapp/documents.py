"""Document pages: a source's metadata and cleaned text, with the matched passage anchored."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, url_for
from markupsafe import Markup, escape

from index.facets import slugify
from index.records import SourceRecord
from index.taxonomy import theme_labels
from webapp.index_handle import get_index
from webapp.views import http_url, int_arg, shortdate

bp = Blueprint("documents", __name__)


@bp.get("/documents/<document_id>")
def show(document_id: str):
    searcher = get_index().searcher()
    store = searcher.store
    record = store.get_source(document_id)
    if record is None:
        abort(404)
    passages = store.source_passages(document_id)
    ordinal = int_arg("passage", -1, -1, max(len(passages) - 1, 0))
    match = next((p for p in passages if p.meta.get("ordinal") == ordinal), None)
    text = record.content
    if match is not None:
        start, end = int(match.meta["start"]), int(match.meta["end"])
        parts = (text[:start], text[start:end], text[end:])
    else:
        parts = (text, "", "")
    original = store.get_sources([record.duplicate_of]).get(record.duplicate_of) if record.duplicate_of else None
    return render_template("documents/show.html", record=record, parts=parts, passages=len(passages),
                           rows=summary_rows(record, original), related=searcher.browse.related_documents(document_id))


ORIGINS = {"sidecar": "metadata file", "embedded": "the file itself", "text": "the text", "default": "default"}


def summary_rows(record: SourceRecord, original: SourceRecord | None) -> list[dict[str, Any]]:
    """The rows of the document's GOV.UK summary list; every value escaped here, once."""
    prov = record.provenance

    def row(key: str, value: Markup, field: str | None = None) -> dict[str, Any]:
        origin = prov.get(field) if field else None
        return {"key": {"text": key}, "value": {"html": value + _note(f"from {ORIGINS.get(origin, origin)}"
                                                                      if origin else None)}}

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
    if http_url(record.url):
        link = Markup('<a class="govuk-link" rel="noopener" href="{0}">{0}</a>').format(record.url)
        rows.append(row("Original", link))
    else:
        # The file's name only: the server's folders are nobody's business.
        rows.append(row("File", escape(record.source.replace("\\", "/").rsplit("/", 1)[-1])))
    if record.tags.councils:
        rows.append(row("Councils named", _council_html(record)))
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


def _list(items: list[Markup]) -> Markup:
    return Markup('<ul class="govuk-list">') + Markup("").join(Markup("<li>") + i + Markup("</li>") for i in items) + \
        Markup("</ul>")


def _note(text: Any) -> Markup:
    if not text:
        return Markup()
    return Markup(' <span class="govuk-body-s app-result__meta">(') + escape(text) + Markup(")</span>")


def _council_html(record: SourceRecord) -> Markup:
    return _list([Markup('<a class="govuk-link" href="{}">{}</a>').format(url_for("browse.council",
                                                                                  slug=slugify(c.name)), c.name)
                  + _note(f"“{c.evidence}”" if c.evidence else "") for c in record.tags.councils])


def _theme_html(record: SourceRecord) -> Markup:
    labels = theme_labels()
    return _list([Markup('<a class="govuk-link" href="{}">{}</a>').format(url_for("browse.theme", theme_id=t.id),
                                                                          labels.get(t.id, t.id))
                  + _note(t.reason) for t in record.tags.themes])


def _alternates_html(record: SourceRecord) -> Markup:
    items = []
    for alt in record.alternates:
        link = Markup('<a class="govuk-link" href="{}">{}</a>').format(
            url_for("documents.show", document_id=alt.id), alt.title)
        if alt.publisher:
            link += _note(alt.publisher)
        items.append(link)
    return _list(items)
