"""One view per resource, and the API's vocabulary.

Like Datasette's views, each resource (a search, a project, a council, a theme, a document, and the
lists of them) has one builder that looks it up, checks it exists (404) and gathers everything its
page shows into a typed :class:`Resource`. :func:`route` registers the builder twice: the page
renders the resource with its template, the ``/api/`` route returns ``resource.to_json()``. The
lookup, the 404 and the evidence code are therefore written once, and every page has JSON.

The JSON vocabulary (see README "The JSON contract" and ``webapp/openapi.json``):

- a **source** is a document a publisher put out; it is ``source_id`` (``document_id`` is the
  older name, kept) and ``name`` (its ``title``, kept);
- a **passage** is a piece of a source: ``passage_id`` (``chunk_id`` kept) and ``ordinal`` (its
  position, from 0; ``passage`` is the older name, kept where it was published);
- projects and councils are ``slug`` and ``name``; themes ``id`` and ``name`` (``label`` kept);
- ``url`` is always the original publication (or null); ``page_url`` is our page for the thing;
- ``source_count`` is a number; ``sources`` is always a list of sources;
- ``score`` is what a list is ranked by, higher first (``similarity`` kept where it was published).

Usage::

    @dataclass
    class ThemePage(Resource):
        template: ClassVar[str] = "browse/theme.html"
        theme: Theme
        def to_json(self) -> dict[str, Any]: ...

    route(bp, api, "/themes/<theme_id>", "theme", build_theme)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, ClassVar

from flask import Blueprint, jsonify, render_template, request, url_for

from index.records import SourceRecord
from webapp.views import http_url

# Other representations of an API resource (``?format=ris``), by API endpoint ("search_api.search"):
# a view taking the route's arguments. webapp/takeaway.py registers its exports here.
FORMATS: dict[str, Callable[..., Any]] = {}


class Resource:
    """What one page shows, built once; rendered as HTML by its template or as JSON by :meth:`to_json`.

    Subclasses are dataclasses: their fields are the template's variables (see :meth:`context`).
    """

    template: ClassVar[str]

    def context(self) -> dict[str, Any]:
        """The template's variables: the dataclass fields (shallow: records stay records)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError


def route(page: Blueprint | None, api: Blueprint | None, rule: str, endpoint: str,
          build: Callable[..., Resource]) -> None:
    """Serve ``build(**url_args)`` at ``rule`` as a page (on ``page``) and as JSON (on ``api``, under /api)."""
    if page is not None:
        def html(**kwargs: Any):
            resource = build(**kwargs)
            return render_template(resource.template, **resource.context())

        page.add_url_rule(rule, endpoint, html)
    if api is not None:
        def as_json(**kwargs: Any):
            exporter = FORMATS.get(f"{api.name}.{endpoint}")
            if exporter is not None and request.args.get("format", "json").strip().lower() != "json":
                return exporter(**kwargs)
            return jsonify(build(**kwargs).to_json())

        api.add_url_rule(rule, endpoint, as_json)


# -- vocabulary ----------------------------------------------------------------------------------

def document_url(source_id: str, ordinal: int | None = None) -> str:
    """Our page for a source, scrolled to a passage when ``ordinal`` is given."""
    if ordinal is None:
        return url_for("documents.show", document_id=source_id)
    return url_for("documents.show", document_id=source_id, passage=ordinal, _anchor="match")


def source_json(record: SourceRecord, **extra: Any) -> dict[str, Any]:
    """A source as every list in the API shows it (OpenAPI ``SourceSummary``)."""
    return {"source_id": record.id, "document_id": record.id, "name": record.title, "title": record.title,
            "type": record.type, "date": record.date, "publisher": record.publisher,
            "url": http_url(record.url), "page_url": document_url(record.id), **extra}


def theme_json(theme_id: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"id": theme_id, "name": label, "label": label,
            "page_url": url_for("browse.theme", theme_id=theme_id), **extra}


def project_ref(slug: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"slug": slug, "name": name, "page_url": url_for("browse.project", slug=slug), **extra}


def council_ref(slug: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"slug": slug, "name": name, "page_url": url_for("browse.council", slug=slug), **extra}
