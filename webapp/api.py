"""The JSON API: the same search as the page and the CLI, as the documented contract."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from flask import Blueprint, jsonify

from webapp.index_handle import get_index
from webapp.views import search_args

bp = Blueprint("api", __name__, url_prefix="/api")
health = Blueprint("health", __name__)


@cache
def openapi_document() -> dict:
    return json.loads(resources.files("webapp").joinpath("openapi.json").read_text(encoding="utf-8"))


@bp.get("/search")
def search():
    q, top_k, page = search_args()
    response = get_index().searcher().search(q, top_k=top_k, page=page)
    return jsonify(response.to_dict())


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
