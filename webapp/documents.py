"""Document pages: a source's metadata and cleaned text, with the matched passage anchored."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from index.taxonomy import theme_labels
from webapp.index_handle import get_index
from webapp.views import int_arg

bp = Blueprint("documents", __name__)


@bp.get("/documents/<document_id>")
def show(document_id: str):
    store = get_index().searcher().store
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
    original = store.get_sources([record.meta["duplicate_of"]]).get(record.meta["duplicate_of"]) if record.meta.get(
        "duplicate_of") else None
    return render_template("documents/show.html", record=record, parts=parts, passages=len(passages),
                           original=original, theme_labels=theme_labels())
