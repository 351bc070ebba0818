"""Check it at the source: a passage's page of the original PDF, as the publisher laid it out, with the
passage's sentence marked (issue 25, item 5).

- ``/documents/<id>/source?passage=N``: the page (a page of the site, not a file): the rendered page
  as an SVG holding the image and a box over each line of the sentence, its number, the passage as the
  text alternative, links to the full-size image and the original;
- ``/documents/<id>/source/<page>.png``: the page rendered by PDFium (``ingest/source_pages.py``), bounded
  in width, cached per generation under ``<data dir>/cache/source-pages/<generation>/``.

Rendering and finding the sentence run in the ingest's sandbox (a child process with a time and memory
limit: ``ingest/sandbox.py``), on request only. Only a PDF whose text states the Open Government Licence
(``record.licence``) is shown: for any other the page says why and links the original. Word, HTML and
feed sources keep their passage in context on the document page.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, send_file, url_for

from index.records import SourceRecord
from ingest.failures import ConversionError
from ingest.sandbox import run_limited
from ingest.source_pages import PageLayout, locate, render
from webapp.index_handle import get_index
from webapp.views import http_url, settings

logger = logging.getLogger(__name__)

bp = Blueprint("source", __name__)

# Licences under which the site may show a page of the original.
SHOWN_LICENCES = frozenset({"OGL-3.0"})
RENDER_TIMEOUT_S = 20.0
# Rendered pages kept per generation (about 0.3 MB each).
MAX_CACHED_PAGES = 2000
RENDER_MEMORY_MB = 1024
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z‘“'\"(])")


@dataclass(frozen=True)
class SourceCheck:
    """What the page shows: the record, the passage, its page, and why the page cannot be shown (or None)."""

    record: SourceRecord
    ordinal: int
    passage: str
    sentence: str
    page: int | None
    refusal: str | None
    layout: PageLayout | None = None


def _pdf_path(record: SourceRecord) -> str | None:
    path = record.file or record.source.split("#", 1)[0]
    return path if path and path.lower().endswith(".pdf") and Path(path).is_file() else None


def cited_sentence(text: str, query: str = "") -> tuple[int, str]:
    """(offset in ``text``, sentence) of the passage's sentence to mark: the one holding most of the query's
    distinct words (three letters or more), else the first of six words or more."""
    wanted = {w for w in re.findall(r"\w+", query.lower()) if len(w) >= 3}
    spans, start = [], 0
    for cut in _SENTENCE.finditer(text):
        spans.append((start, text[start:cut.start()]))
        start = cut.end()
    spans.append((start, text[start:]))
    spans = [(at, " ".join(s.split())) for at, s in spans if s.strip()]
    long = [span for span in spans if len(span[1].split()) >= 6] or spans or [(0, " ".join(text.split())[:300])]
    if wanted:
        best = max(long, key=lambda span: len(wanted & set(re.findall(r"\w+", span[1].lower()))))
        if wanted & set(re.findall(r"\w+", best[1].lower())):
            return best
    return long[0]


def check(document_id: str, ordinal: int, query: str = "") -> SourceCheck:
    searcher = get_index().searcher()
    record = searcher.store.get_source(document_id)
    if record is None:
        abort(404)
    passage = next((p for p in searcher.store.source_passages(document_id) if p.where.ordinal == ordinal), None)
    if passage is None:
        abort(404)
    text = record.content[passage.where.start: passage.where.end]
    offset, sentence = cited_sentence(text, query)
    page = passage.where.page_at(offset)
    path = _pdf_path(record)
    if path is None or page is None:
        return SourceCheck(record, ordinal, text, sentence, page,
                           "This source is not a PDF we hold, so there is no page to show: the passage is "
                           "marked in the text on its page here.")
    if record.licence not in SHOWN_LICENCES:
        return SourceCheck(record, ordinal, text, sentence, page,
                           "The document does not say it is published under a licence that lets us show its "
                           "pages, so we do not: open the original to check the passage.")
    try:
        layout = run_limited(locate, path, int(page), sentence, timeout=RENDER_TIMEOUT_S, memory_mb=RENDER_MEMORY_MB)
    except ConversionError as exc:
        logger.warning("could not read page %s of %s: %s", page, document_id, exc.reason)
        return SourceCheck(record, ordinal, text, sentence, page,
                           "The page could not be read just now: open the original to check the passage.")
    return SourceCheck(record, ordinal, text, sentence, int(page), None, layout)


@bp.get("/documents/<document_id>/source")
def show(document_id: str) -> str:
    try:
        ordinal = int(request.args.get("passage", "0"))
    except ValueError:
        abort(404)
    found = check(document_id, ordinal, (request.args.get("q") or "")[:settings().max_query_chars])
    return render_template("documents/source.html", found=found, original=http_url(found.record.url),
                           image_url=url_for("source.image", document_id=document_id, page=found.page)
                           if found.layout else None)


@bp.get("/documents/<document_id>/source/<int:page>.png")
def image(document_id: str, page: int) -> Response:
    searcher = get_index().searcher()
    record = searcher.store.get_source(document_id)
    path = _pdf_path(record) if record is not None else None
    if record is None or path is None or record.licence not in SHOWN_LICENCES or page < 1:
        abort(404)
    generation = searcher.generation.manifest.generation
    root = Path(settings().data_dir) / "cache" / "source-pages"
    folder = root / generation
    if not folder.is_dir():
        # A new generation: the pages cached for older ones go (their files may have changed).
        for old in root.glob("*") if root.is_dir() else []:
            if old.is_dir() and old.name != generation:
                shutil.rmtree(old, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", document_id)[:80]
    target = folder / f"{safe}-{page}.png"
    if not target.is_file():
        cached = sorted(folder.glob("*.png"), key=lambda f: f.stat().st_mtime)
        for stale in cached[: max(0, len(cached) - MAX_CACHED_PAGES + 1)]:
            stale.unlink(missing_ok=True)  # bounded: the least recently rendered go first
        try:
            run_limited(render, path, page, str(target), timeout=RENDER_TIMEOUT_S, memory_mb=RENDER_MEMORY_MB)
        except ConversionError:
            abort(404)
    return send_file(target, mimetype="image/png", max_age=86400)


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
