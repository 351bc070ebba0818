"""Browsing for leaders: projects, councils and themes, related projects and documents, the
story over time; the same as JSON under /api/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from markupsafe import Markup

from index.errors import QueryError
from index.facets import FacetSelection, slugify
from index.params import checked_value, checked_year, single
from index.taxonomy import theme_labels
from webapp.charts import colours, year_chart
from webapp.index_handle import get_index

bp = Blueprint("browse", __name__)
api = Blueprint("browse_api", __name__, url_prefix="/api")

SORTS = {"name": "Name", "recent": "Most recent", "sources": "Most sources"}


def _browse():
    return get_index().searcher().browse


def _arg(name: str, allowed: dict[str, Any] | None = None) -> str:
    """A single-valued filter parameter, checked; '' when absent.

    :raises QueryError: for a repeated or over-long value or one not in ``allowed``.
    """
    value = checked_value(name, (single(name, request.args.getlist(name)) or "").strip())
    if value and allowed is not None and value not in allowed:
        raise QueryError(f"{name} must be one of {', '.join(allowed)}, got {value[:40]!r}.")
    return value


def _projects_listing() -> tuple[list[Any], dict[str, str]]:
    """Projects filtered by ?theme=, ?council=, ?year= and sorted by ?sort= (name, recent, sources)."""
    browse = _browse()
    chosen = {"theme": _arg("theme"), "council": _arg("council"), "year": _arg("year"),
              "sort": _arg("sort", SORTS) or "name"}
    if chosen["year"]:
        checked_year("year", chosen["year"])
    projects = browse.projects()
    if chosen["theme"]:
        projects = [p for p in projects if chosen["theme"] in p.themes]
    if chosen["council"]:
        council = browse.council(chosen["council"])
        projects = [p for p in projects if council is not None and p.slug in council.projects]
    if chosen["year"]:
        year = int(chosen["year"])
        projects = [p for p in projects if year in p.year_range()]
    if chosen["sort"] == "recent":
        projects.sort(key=lambda p: (p.years[-1] if p.years else 0), reverse=True)
    elif chosen["sort"] == "sources":
        projects.sort(key=lambda p: len(p.sources), reverse=True)
    return projects, chosen


def _chart(source_ids: list[str], title_id: str) -> dict[str, Any]:
    """What the chart partial needs: the SVG, and the same figures as table rows."""
    browse = _browse()
    by_year = browse.by_year(source_ids)
    labels = {**theme_labels(), "other": "No theme"}
    theme_ids = [t.id for t, _ in browse.themes()]
    used = [t for t in [*theme_ids, "other"] if any(t in counts for counts in by_year.values())]
    return {"svg": year_chart(by_year, theme_ids, labels, title_id), "years": list(by_year), "themes": used,
            "labels": labels, "by_year": by_year, "colours": colours(theme_ids), "title_id": title_id}


def _links(items: list[tuple[str, str]]) -> Markup:
    return Markup(", ").join(Markup('<a class="govuk-link" href="{}">{}</a>').format(href, text)
                             for href, text in items)


def council_links(names: list[str]) -> Markup:
    return _links([(url_for("browse.council", slug=slugify(n)), n) for n in names])


def theme_links(theme_ids: list[str]) -> Markup:
    labels = theme_labels()
    return _links([(url_for("browse.theme", theme_id=t), labels.get(t, t)) for t in theme_ids])


def external_links(links: list[dict[str, str]]) -> Markup:
    return _links([(link["url"], link["title"]) for link in links if link["url"].startswith(("http://", "https://"))])


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    return {"council_links": council_links, "theme_links": theme_links, "external_links": external_links}


def _source_summary(record) -> dict[str, Any]:
    return {"document_id": record.id, "title": record.title, "type": record.type, "date": record.date,
            "publisher": record.publisher, "url": url_for("documents.show", document_id=record.id)}


# -- pages ---------------------------------------------------------------------------------------

@bp.get("/projects")
def projects():
    listing, chosen = _projects_listing()
    browse = _browse()
    return render_template("browse/projects.html", projects=listing, chosen=chosen, sorts=SORTS,
                           councils=[c for c in browse.councils() if c.projects], themes=browse.themes(),
                           years=sorted({y for p in browse.projects() for y in p.year_range()}))


@bp.get("/projects/<slug>")
def project(slug: str):
    browse = _browse()
    item = browse.project(slug)
    if item is None:
        abort(404)
    sources = [(browse.sources[s], browse.mention(slug, s)) for s in item.sources]
    return render_template("browse/project.html", project=item, sources=sources,
                           project_facet=FacetSelection({"project": (slug,)}),
                           related=browse.related_projects(slug),
                           chart=_chart(item.sources, "chart-title"))


@bp.get("/councils")
def councils():
    browse = _browse()
    return render_template("browse/councils.html", councils=browse.councils(), regions=browse.councils_by_region())


@bp.get("/councils/<slug>")
def council(slug: str):
    browse = _browse()
    item = browse.council(slug)
    if item is None:
        abort(404)
    named_projects = {slug for s in item.sources for slug in browse.sources[s].project_slugs}
    led = [browse.project(p) for p in item.projects]
    mentioned = [p for p in browse.projects() if p.slug in named_projects and p.slug not in item.projects]
    return render_template("browse/council.html", council=item, led=led, mentioned=mentioned,
                           sources=[browse.sources[s] for s in item.sources],
                           council_facet=FacetSelection({"council": (slug,)}),
                           chart=_chart(item.sources, "chart-title"))


@bp.get("/themes")
def themes():
    browse = _browse()
    return render_template("browse/themes.html", themes=browse.themes(),
                           chart=_chart(list(browse.sources), "chart-title"))


@bp.get("/themes/<theme_id>")
def theme(theme_id: str):
    browse = _browse()
    found = browse.theme(theme_id)
    if found is None:
        abort(404)
    item, source_ids = found
    return render_template("browse/theme.html", theme=item, sources=[browse.sources[s] for s in source_ids],
                           projects=browse.projects_with_theme(theme_id), chart=_chart(source_ids, "chart-title"),
                           theme_facet=FacetSelection({"theme": (theme_id,)}))


# -- JSON ----------------------------------------------------------------------------------------

@api.get("/projects")
def api_projects():
    listing, _ = _projects_listing()
    return jsonify({"projects": [p.summary() for p in listing]})


@api.get("/projects/<slug>")
def api_project(slug: str):
    browse = _browse()
    item = browse.project(slug)
    if item is None:
        abort(404)
    sources = []
    for source_id in item.sources:
        mention = browse.mention(slug, source_id)
        sources.append({**_source_summary(browse.sources[source_id]), "passage": mention.ordinal if mention else None,
                        "excerpt": mention.excerpt if mention else None})
    return jsonify({**item.summary(), "description": item.description, "partners": item.partners,
                    "links": item.links, "aliases": item.aliases, "sources": sources,
                    "related": [{"slug": p.slug, "name": p.name, "reason": reason, "score": score}
                                for p, score, reason in browse.related_projects(slug)]})


@api.get("/councils")
def api_councils():
    return jsonify({"councils": [c.summary() for c in _browse().councils()]})


@api.get("/themes")
def api_themes():
    browse = _browse()
    return jsonify({"themes": [{"id": t.id, "label": t.label, "description": t.description, "sources": len(s),
                                "by_year": {y: c.get(t.id, 0) for y, c in browse.by_year(s).items()}}
                               for t, s in browse.themes()]})


@api.get("/documents/<document_id>/related")
def api_related(document_id: str):
    browse = _browse()
    if get_index().searcher().store.get_source(document_id) is None:
        abort(404)
    return jsonify({"document_id": document_id, "related": [
        {**_source_summary(record), "similarity": round(score, 4)}
        for record, score in browse.related_documents(document_id)]})
