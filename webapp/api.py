"""The JSON API: the same search as the page and the CLI, as the documented contract."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from flask import Blueprint, jsonify, request, url_for

from index.errors import QueryError
from index.taxonomy import themes
from webapp.index_handle import get_index
from webapp.views import facet_args, search_args

# /api/suggest: shortest and longest text it answers for, and how many suggestions.
SUGGEST_MIN, SUGGEST_MAX, SUGGEST_LIMIT = 2, 100, 8

bp = Blueprint("api", __name__, url_prefix="/api")
health = Blueprint("health", __name__)


@cache
def openapi_document() -> dict:
    return json.loads(resources.files("webapp").joinpath("openapi.json").read_text(encoding="utf-8"))


@bp.get("/search")
def search():
    q, top_k, page = search_args()
    searcher = get_index().searcher()
    facets = facet_args()
    if not q.strip() and facets:
        return jsonify(searcher.browse_sources(facets, top_k=top_k, page=page).to_dict())
    return jsonify(searcher.search(q, top_k=top_k, page=page, facets=facets).to_dict())


@bp.get("/suggest")
def suggest():
    """Titles, themes and projects containing what the user has typed, for the search box."""
    q = " ".join(request.args.get("q", "").split())
    if not SUGGEST_MIN <= len(q) <= SUGGEST_MAX:
        raise QueryError(f"q must be {SUGGEST_MIN} to {SUGGEST_MAX} characters long for suggestions.")
    searcher = get_index().searcher()
    needle = q.lower()
    out = [{"text": p.name, "kind": "project", "url": url_for("browse.project", slug=p.slug)}
           for p in searcher.browse.projects() if any(needle in a.lower() for a in p.aliases)]
    out += [{"text": t.label, "kind": "theme", "url": url_for("browse.theme", theme_id=t.id)}
            for t in themes() if needle in t.label.lower()]
    for source_id, title in searcher.store.titles_containing(q, SUGGEST_LIMIT):
        out.append({"text": title, "kind": "document", "url": url_for("documents.show", document_id=source_id)})
    return jsonify({"query": q, "suggestions": out[:SUGGEST_LIMIT]})


@health.get("/healthz")
def healthz():
    """Liveness and what is served: the live generation, when it was built, how many sources."""
    manifest = get_index().searcher().generation.manifest
    return jsonify({"status": "ok", "generation": manifest.generation, "created": manifest.created,
                    "age_seconds": round(manifest.age_seconds()), "sources": manifest.sources,
                    "passages": manifest.passages})


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
