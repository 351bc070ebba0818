"""Publisher boilerplate: text one publisher repeats across its documents (Ofsted's back page with its
licence, address and phone numbers) is template, not content, and is not indexed.

Learned per publisher from the documents being built: a line (by shape: case, spacing and digits
ignored) is common when it is in at least ``MIN_SHARE`` of the publisher's documents (and in
``MIN_DOCUMENTS``); a run of ``MIN_RUN`` or more consecutive common lines after the first page is
boilerplate and removed. Single common lines (a section heading such as "What needs to improve?")
and the first page (a title page with its judgement table) stay.

What was learned is stored in the generation (``boilerplate.json``) and reused by incremental
runs, so a new report never changes what was stripped from those already indexed; a full build
learns again.

Usage::

    learned = learn(documents, known=None)
    text, removed = learned.strip(document)
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from haystack import Document, component

from ingest.layout import PAGE_BREAK, shape

MIN_DOCUMENTS = 5
MIN_SHARE = 0.2
MIN_RUN = 3


def publisher_of(doc: Document) -> str | None:
    """The group a document's boilerplate is learned in: the publisher its template or embedded metadata
    names (the sidecar's is not known yet), and for an inspection its framework, since each of
    Ofsted's layouts has its own back page."""
    template = doc.meta.get("template") or {}
    embedded = doc.meta.get("embedded") or {}
    publisher = template.get("publisher") or embedded.get("publisher") or None
    framework = (doc.meta.get("inspection") or {}).get("framework")
    return f"{publisher} ({framework})" if publisher and framework else publisher


def _shapes(text: str) -> set[str]:
    return {shape(line) for line in text.split("\n") if len(line.strip()) > 1}


@dataclass(frozen=True)
class PublisherBoilerplate:
    publisher: str
    documents: int
    lines: frozenset[str]


@dataclass
class LearnedBoilerplate:
    """Boilerplate lines per publisher."""

    publishers: dict[str, PublisherBoilerplate] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({name: {"documents": p.documents, "lines": sorted(p.lines)}
                           for name, p in sorted(self.publishers.items())}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> LearnedBoilerplate:
        data = json.loads(text or "{}")
        return cls({name: PublisherBoilerplate(name, int(v["documents"]), frozenset(v["lines"]))
                    for name, v in data.items()})

    def strip(self, doc: Document) -> tuple[str, int]:
        """The document's text without its publisher's boilerplate runs; and how many lines went."""
        learned = self.publishers.get(publisher_of(doc) or "")
        text = doc.content or ""
        if learned is None or not learned.lines:
            return text, 0
        pages = text.split(PAGE_BREAK)
        removed = 0
        for number, page in enumerate(pages):
            if number == 0:
                continue
            lines = page.split("\n")
            common = [bool(line.strip()) and shape(line) in learned.lines for line in lines]
            doomed: set[int] = set()
            run: list[int] = []
            for i, line in enumerate([*lines, ""]):
                if i < len(lines) and not line.strip():
                    continue  # blank lines neither start nor break a run
                if i < len(lines) and common[i]:
                    run.append(i)
                    continue
                if len(run) >= MIN_RUN:
                    doomed.update(run)
                run = []
            removed += len(doomed)
            pages[number] = "\n".join(line for i, line in enumerate(lines) if i not in doomed)
        return PAGE_BREAK.join(pages), removed


def learn(documents: list[Document], known: LearnedBoilerplate | None = None) -> LearnedBoilerplate:
    """Learn each publisher's boilerplate from ``documents``; publishers in ``known`` keep what they had."""
    learned = LearnedBoilerplate(dict(known.publishers) if known else {})
    by_publisher: dict[str, list[Document]] = {}
    for doc in documents:
        publisher = publisher_of(doc)
        if publisher and publisher not in learned.publishers:
            by_publisher.setdefault(publisher, []).append(doc)
    for publisher, docs in by_publisher.items():
        if len(docs) < MIN_DOCUMENTS:
            continue
        counts: Counter[str] = Counter()
        for doc in docs:
            pages = (doc.content or "").split(PAGE_BREAK)
            counts.update(_shapes("\n".join(pages[1:])))
        needed = max(MIN_DOCUMENTS, int(MIN_SHARE * len(docs) + 0.999))
        lines = frozenset(s for s, n in counts.items() if n >= needed)
        learned.publishers[publisher] = PublisherBoilerplate(publisher, len(docs), lines)
    return learned


@component
class BoilerplateStripper:
    """Remove learned publisher boilerplate (a Haystack component).

    :param learned: ``LearnedBoilerplate.to_json()`` of what to remove.
    """

    def __init__(self, learned: str = "{}") -> None:
        self.learned = learned
        self._parsed = LearnedBoilerplate.from_json(learned)

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        out = []
        for doc in documents:
            text, removed = self._parsed.strip(doc)
            if removed:
                doc = Document(id=doc.id, content=text, meta={**doc.meta, "template_lines_removed": removed})
            out.append(doc)
        return {"documents": out}
