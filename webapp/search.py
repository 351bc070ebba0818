"""The search page: a box, then ranked sources with their best passages."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from index.errors import QueryError
from webapp.index_handle import get_index
from webapp.views import search_args, settings

bp = Blueprint("search", __name__)


@bp.get("/")
def home():
    return render_template("search/index.html", q="", max_chars=settings().max_query_chars)


@bp.get("/search")
def results():
    q, top_k, page = search_args()
    if not q.strip():
        return render_template("search/index.html", q="", max_chars=settings().max_query_chars,
                               message="Type some words to search for, for example: adolescents edge of care."), 400
    try:
        response = get_index().searcher().search(q, top_k=top_k, page=page)
    except QueryError as exc:
        return render_template("search/index.html", q=q[: settings().max_query_chars * 2],
                               max_chars=settings().max_query_chars, message=str(exc)), 400
    return render_template("search/results.html", q=q, response=response, top_k=top_k,
                           top_k_arg=request.args.get("top_k"))
