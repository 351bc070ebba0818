"""The JSON API's own routes: suggestions for the search box, health, and the OpenAPI document.

Every page's JSON (search, projects, councils, themes, documents) is served beside the page by
its blueprint, from the same :class:`~webapp.resource.Resource` (see ``webapp/resource.py``).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from flask import Blueprint, jsonify, request, url_for

from index.browse.taxonomy import themes
from index.errors import QueryError
from webapp.index_handle import get_index
from webapp.resource import project_ref, theme_json
from webapp.views import http_url

# /api/suggest: shortest and longest text it answers for, and how many suggestions.
SUGGEST_MIN, SUGGEST_MAX, SUGGEST_LIMIT = 2, 100, 8

bp = Blueprint("api", __name__, url_prefix="/api")
health = Blueprint("health", __name__)


@cache
def openapi_document() -> dict:
    return json.loads(resources.files("webapp").joinpath("openapi.json").read_text(encoding="utf-8"))


@bp.get("/suggest")
def suggest():
    """Titles, themes and projects containing what the user has typed, for the search box."""
    q = " ".join(request.args.get("q", "").split())
    if not SUGGEST_MIN <= len(q) <= SUGGEST_MAX:
        raise QueryError(f"q must be {SUGGEST_MIN} to {SUGGEST_MAX} characters long for suggestions.")
    served = get_index().served()
    needle = q.lower()
    # ``url`` is the original publication (documents only); ``page_url`` is where the suggestion leads.
    out = [{"text": p.name, "kind": "project", **project_ref(p.slug, p.name), "url": None}
           for p in served.browse.projects() if any(needle in a.lower() for a in p.aliases)]
    out += [{"text": t.label, "kind": "theme", **theme_json(t.id, t.label), "url": None}
            for t in themes() if needle in t.label.lower()]
    titles = served.store.titles_containing(q, SUGGEST_LIMIT)
    records = served.store.get_sources([source_id for source_id, _ in titles])
    for source_id, title in titles:
        record = records.get(source_id)
        out.append({"text": title, "kind": "document", "source_id": source_id, "name": title,
                    "url": http_url(record.url) if record else None,
                    "page_url": url_for("documents.show", document_id=source_id)})
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
