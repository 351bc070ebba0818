"""Publisher templates: long reports a publisher issues in one layout (Ofsted's inspections, ...).

Each module here has ``match(text, path) -> TemplateMatch | None``; the first that recognises a
document gives its title, publisher, type and date (which rank above the file's embedded
metadata, below a sidecar) and any structured fields (an inspection's council, dates and
judgements). A new template is one module, added to :data:`TEMPLATES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from haystack import Document, component

from ingest.templates import ofsted
from ingest.templates.base import TemplateMatch

TEMPLATES: tuple[Callable[[str, str], TemplateMatch | None], ...] = (ofsted.match,)


def recognise(text: str, path: str) -> TemplateMatch | None:
    """The first template that recognises this document, if any."""
    for template in TEMPLATES:
        found = template(text, path)
        if found is not None:
            return found
    return None


_OGL = re.compile(r"Open\s+Government\s+Licen[cs]e", re.I)


def licence_of(text: str) -> str | None:
    """The licence a document states it is published under (read before its boilerplate is removed)."""
    return "OGL-3.0" if _OGL.search(text) else None


@component
class TemplateReader:
    """Put what a publisher template says into each recognised document's meta (a Haystack component).

    ``meta["template"]`` holds the values for the metadata precedence (``ingest/metadata.py``),
    ``meta["inspection"]`` an inspection's structured fields, and ``meta["licence"]`` the licence
    any document states (the Open Government Licence), so its pages can carry the attribution.
    """

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        out = []
        for doc in documents:
            licence = licence_of(doc.content or "")
            if licence:
                doc = Document(id=doc.id, content=doc.content, meta={**doc.meta, "licence": licence})
            found = recognise(doc.content or "", str(doc.meta.get("source", "")))
            if found is None:
                out.append(doc)
                continue
            meta = {**doc.meta, "template": {"name": found.template, "title": found.title,
                                             "publisher": found.publisher, "type": found.type, "date": found.date,
                                             "url": found.url, "authors": list(found.authors)}}
            if found.inspection is not None:
                meta["inspection"] = found.inspection.to_dict()
            out.append(Document(id=doc.id, content=doc.content, meta=meta))
        return {"documents": out}
