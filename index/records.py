"""What a source carries: the typed record the ingest writes and every reader gets back.

The vocabulary of the whole code base:

- a **source** is a document a publisher put out (a report, an article, a blog post, a thread),
  with its cleaned text; :class:`SourceRecord`;
- a **passage** is a piece of one source's text (150–250 words), the unit that is embedded,
  matched and shown; in the store a passage is a Haystack ``Document``, found as a
  :class:`PassageHit` (``index/store.py``).

A source's metadata beyond its columns (authors, provenance, tags, project links, copies) is typed
here and turned into JSON only at the storage boundary (:meth:`SourceRecord.meta_json` /
:meth:`SourceRecord.from_storage`). The JSON keeps the keys of format 1, so generations written
before these types existed read the same. A renamed field fails where it is used (attribute
error, type check), never as an empty page.

Usage::

    record = SourceRecord(id="s1", source="corpus/a.txt", title="A", type="report", content="...",
                          content_hash="…", authors=("Ofsted",))
    record.council_names          # ("Hackney", ...)
    record.project("signs-of-safety")  # where it names a project, if it does
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

# The end of a council's evidence when the text names a group it belongs to ("Tri-borough (group)"), not it.
GROUP_EVIDENCE = " (group)"


# What a source may be (a sidecar's "type", the type filter's values).
SOURCE_TYPES = ("report", "inspection", "evaluation", "article", "news", "blog", "storify", "other")

@dataclass(frozen=True)
class CouncilMention:
    """A council the source's text names, with the words that named it."""

    name: str
    evidence: str = ""

    @property
    def group(self) -> str | None:
        """The group's words when the text names only a group the council belongs to (a partnership such
        as "Achieving for Children"); None when it names the council itself."""
        return self.evidence[: -len(GROUP_EVIDENCE)] if self.evidence.endswith(GROUP_EVIDENCE) else None


@dataclass(frozen=True)
class ThemeTag:
    """A theme the source is about, with why: ``reason`` in a few words ("3 paragraphs about it"),
    ``evidence`` the opening of the first paragraph about it (what the pages show as "tagged because")
    and ``passage`` the ordinal of the passage that holds it (None for generations written before
    evidence was kept)."""

    id: str
    reason: str = ""
    evidence: str = ""
    passage: int | None = None


@dataclass(frozen=True)
class SourceTags:
    """Council and theme tags of a source (derived from its passages' tags at build time)."""

    councils: tuple[CouncilMention, ...] = ()
    council_groups: tuple[str, ...] = ()
    themes: tuple[ThemeTag, ...] = ()


@dataclass(frozen=True)
class ProjectMention:
    """A catalogue project that a source names: the passage naming it and the words around the name.

    ``relation`` is "uses" where the text says the inspected council uses the model (the passage is
    then the one that says so), else "mentions" (plans, national context, comparisons).
    """

    slug: str
    name: str
    ordinal: int = 0
    excerpt: str = ""
    relation: str = "mentions"


@dataclass(frozen=True)
class Alternate:
    """A near-duplicate copy of a source (same text saved twice, or syndicated elsewhere)."""

    id: str
    source: str
    title: str
    url: str | None = None
    publisher: str | None = None


@dataclass(frozen=True)
class OriginalGone:
    """The original web address no longer serves the source (``kb harvest`` found it so); the copy stays searchable.

    ``last_seen`` is the last day the original answered with the document, ``noticed`` the day the
    harvest first found it gone (ISO 8601 dates), ``reason`` what the address does now ("answers 404
    Not Found", "redirects to the home page").
    """

    last_seen: str
    noticed: str
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"last_seen": self.last_seen, "noticed": self.noticed, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OriginalGone:
        return cls(str(data["last_seen"]), str(data.get("noticed") or data["last_seen"]), str(data.get("reason") or ""))


# Judgement areas in the order a report lists them, with the words pages use.
JUDGEMENT_AREAS = {"overall_effectiveness": "Overall effectiveness", "impact_of_leaders": "Impact of leaders",
                   "help_and_protection": "Help and protection", "in_care": "Children in care",
                   "care_leavers": "Care leavers", "adoption": "Adoption"}


# Ofsted's grades, best first.
GRADES = ("outstanding", "good", "requires improvement", "inadequate")


def judgement_slug(area: str, grade: str) -> str:
    """The judgement facet's value: ``overall-effectiveness-inadequate``."""
    return f"{area.replace('_', '-')}-{grade.replace(' ', '-')}"


@dataclass(frozen=True)
class Judgement:
    """One inspection judgement: the area (a key shared by inspection frameworks), the report's wording, the grade."""

    area: str  # overall_effectiveness, impact_of_leaders, help_and_protection, in_care, care_leavers, adoption
    label: str
    grade: str  # Ofsted's word: outstanding, good, requires improvement, inadequate


@dataclass(frozen=True)
class Inspection:
    """What an inspection report says of itself: the council inspected, when, by whom, and the judgements."""

    council: str
    framework: str  # "ILACS" or "SIF"
    start: str | None = None  # ISO 8601 dates
    end: str | None = None
    published: str | None = None
    lead_inspector: str | None = None
    judgements: tuple[Judgement, ...] = ()

    def grade(self, area: str) -> str | None:
        return next((j.grade for j in self.judgements if j.area == area), None)

    @property
    def overall(self) -> str | None:
        return self.grade("overall_effectiveness")

    def facet_values(self) -> tuple[tuple[str, str], ...]:
        """``(slug, label)`` of each judgement for the search facet: ("overall-effectiveness-inadequate",
        "Overall effectiveness: inadequate")."""
        return tuple((judgement_slug(j.area, j.grade), f"{JUDGEMENT_AREAS.get(j.area, j.area)}: {j.grade}")
                     for j in self.judgements)

    def to_dict(self) -> dict[str, Any]:
        return {"council": self.council, "framework": self.framework, "start": self.start, "end": self.end,
                "published": self.published, "lead_inspector": self.lead_inspector,
                "judgements": [{"area": j.area, "label": j.label, "grade": j.grade} for j in self.judgements]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Inspection:
        return cls(council=data["council"], framework=data.get("framework", ""), start=data.get("start"),
                   end=data.get("end"), published=data.get("published"), lead_inspector=data.get("lead_inspector"),
                   judgements=tuple(Judgement(j["area"], j.get("label", ""), j["grade"])
                                    for j in data.get("judgements") or ()))


@dataclass(frozen=True)
class SourceRecord:
    """One source: a report, article, post or thread, with its cleaned text and everything known of it.

    ``content`` is empty when a record was read for a result list (see ``KBDocumentStore.get_sources``).
    ``provenance`` maps a field name (title, date, authors, publisher, ...) to where its value came
    from: ``sidecar``, ``embedded``, ``text`` or ``default``.
    """

    id: str
    source: str
    title: str
    type: str
    content: str
    content_hash: str
    date: str | None = None
    publisher: str | None = None
    url: str | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None
    format: str | None = None
    file: str | None = None
    external_id: str | None = None
    notes: str | None = None
    boilerplate_lines_removed: int | None = None
    provenance: Mapping[str, str] = field(default_factory=dict)
    tags: SourceTags = SourceTags()
    projects: tuple[ProjectMention, ...] = ()
    duplicate_of: str | None = None
    alternates: tuple[Alternate, ...] = ()
    template: str | None = None  # the publisher template it was read with (ingest/templates), if any
    licence: str | None = None  # "OGL-3.0" when the document says it is published under the Open Government Licence
    inspection: Inspection | None = None
    # When this source was first put in any generation (ISO 8601, UTC), carried from generation to
    # generation so an alert feed can say what is new; None in generations written before it was kept.
    first_indexed: str | None = None
    # Set when the harvest found the original address gone (404/410, or a redirect to the home page).
    original_gone: OriginalGone | None = None

    # -- views -----------------------------------------------------------------------------------

    @property
    def council_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.tags.councils)

    @property
    def about_council_names(self) -> tuple[str, ...]:
        """The councils this source is about (:func:`about_councils`), not every council it names."""
        return about_councils(self.council_names, self.inspection, self.publisher, self.title)

    @property
    def theme_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tags.themes)

    @property
    def project_slugs(self) -> tuple[str, ...]:
        return tuple(p.slug for p in self.projects)

    def project(self, slug: str) -> ProjectMention | None:
        return next((p for p in self.projects if p.slug == slug), None)

    # -- derived copies --------------------------------------------------------------------------

    def with_projects(self, projects: tuple[ProjectMention, ...]) -> SourceRecord:
        return replace(self, projects=projects)

    def as_original(self, alternates: tuple[Alternate, ...]) -> SourceRecord:
        """This record as the canonical copy of a group of near-duplicates (or of none)."""
        return replace(self, duplicate_of=None, alternates=alternates)

    def as_copy_of(self, original_id: str) -> SourceRecord:
        return replace(self, duplicate_of=original_id, alternates=())

    def first_indexed_or(self, fallback: str) -> SourceRecord:
        """This record with its first-indexed date, ``fallback`` when it has none yet."""
        return self if self.first_indexed else replace(self, first_indexed=fallback)

    def as_alternate(self) -> Alternate:
        return Alternate(self.id, self.source, self.title, self.url, self.publisher)

    # -- storage boundary ------------------------------------------------------------------------

    def meta_json(self) -> str:
        """Everything beyond the table's columns, as the store keeps it (format 1's keys)."""
        meta: dict[str, Any] = {"authors": list(self.authors)}
        for name in ("language", "format", "file", "external_id", "notes", "boilerplate_lines_removed"):
            value = getattr(self, name)
            if value is not None:
                meta[name] = value
        meta["provenance"] = dict(self.provenance)
        tags = self.tags
        meta.update({
            "councils": [c.name for c in tags.councils],
            "council_groups": list(tags.council_groups),
            "council_evidence": {c.name: c.evidence for c in tags.councils},
            "themes": [t.id for t in tags.themes],
            "theme_reasons": {t.id: t.reason for t in tags.themes},
            "theme_evidence": {t.id: {"excerpt": t.evidence, "ordinal": t.passage} for t in tags.themes if t.evidence},
            "projects": [{"slug": p.slug, "name": p.name} for p in self.projects],
            "project_evidence": {p.slug: {"ordinal": p.ordinal, "excerpt": p.excerpt, "relation": p.relation}
                                 for p in self.projects},
        })
        if self.duplicate_of:
            meta["duplicate_of"] = self.duplicate_of
        if self.template:
            meta["template"] = self.template
        if self.licence:
            meta["licence"] = self.licence
        if self.inspection is not None:
            meta["inspection"] = self.inspection.to_dict()
        if self.first_indexed:
            meta["first_indexed"] = self.first_indexed
        if self.original_gone is not None:
            meta["original_gone"] = self.original_gone.to_dict()
        if self.alternates:
            meta["alternates"] = [{"id": a.id, "source": a.source, "title": a.title, "url": a.url,
                                   "publisher": a.publisher} for a in self.alternates]
        return json.dumps(meta, ensure_ascii=False)

    @classmethod
    def from_columns(cls, row: Sequence[Any]) -> SourceRecord:
        """A record from a store's row of ``id, source, title, type, content, content_hash, date, publisher, url,
        meta`` (both backends select these columns in this order)."""
        return cls.from_storage(id=row[0], source=row[1], title=row[2], type=row[3], content=row[4],
                                content_hash=row[5], date=row[6], publisher=row[7], url=row[8], meta_json=row[9])

    @classmethod
    def from_storage(cls, *, id: str, source: str, title: str, type: str, content: str,
                     content_hash: str, date: str | None, publisher: str | None, url: str | None,
                     meta_json: str) -> SourceRecord:
        """A record from the store's columns and its meta JSON (see :meth:`meta_json`)."""
        meta = json.loads(meta_json or "{}")
        evidence = meta.get("council_evidence") or {}
        reasons = meta.get("theme_reasons") or {}
        theme_evidence = meta.get("theme_evidence") or {}
        project_evidence = meta.get("project_evidence") or {}
        return cls(
            id=id, source=source, title=title, type=type, content=content, content_hash=content_hash, date=date,
            publisher=publisher, url=url,
            authors=tuple(meta.get("authors") or ()),
            language=meta.get("language"), format=meta.get("format"), file=meta.get("file"),
            external_id=meta.get("external_id"), notes=meta.get("notes"),
            boilerplate_lines_removed=meta.get("boilerplate_lines_removed"),
            provenance=dict(meta.get("provenance") or {}),
            tags=SourceTags(
                councils=tuple(CouncilMention(name, evidence.get(name, "")) for name in meta.get("councils") or ()),
                council_groups=tuple(meta.get("council_groups") or ()),
                themes=tuple(ThemeTag(theme_id, reasons.get(theme_id, ""),
                                      str(theme_evidence.get(theme_id, {}).get("excerpt") or ""),
                                      theme_evidence.get(theme_id, {}).get("ordinal"))
                             for theme_id in meta.get("themes") or ()),
            ),
            projects=tuple(
                ProjectMention(p["slug"], p["name"], int(project_evidence.get(p["slug"], {}).get("ordinal", 0)),
                               project_evidence.get(p["slug"], {}).get("excerpt", ""),
                               # Generations written before the classification have no relation.
                               project_evidence.get(p["slug"], {}).get("relation", "mentions"))
                for p in meta.get("projects") or ()),
            duplicate_of=meta.get("duplicate_of"),
            template=meta.get("template"), licence=meta.get("licence"),
            inspection=Inspection.from_dict(meta["inspection"]) if meta.get("inspection") else None,
            first_indexed=meta.get("first_indexed"),
            original_gone=OriginalGone.from_dict(meta["original_gone"]) if meta.get("original_gone") else None,
            alternates=tuple(Alternate(a["id"], a["source"], a["title"], a.get("url"), a.get("publisher"))
                             for a in meta.get("alternates") or ()),
        )


def about_councils(named: Sequence[str], inspection: Inspection | None, publisher: str | None,
                   title: str) -> tuple[str, ...]:
    """The councils a source is *about*, as a director means it (issue 26): the council an inspection report
    inspects; else the councils of those it names that published it ("North Yorkshire County Council") or
    that its title names ("Hackney's model ..."). A council a text merely names (Dorset's inspection naming
    North Yorkshire's model) is not one: it is among the councils the source *mentions*.
    """
    if inspection is not None:
        return (inspection.council,)
    for text in (publisher or "", title):
        found = tuple(name for name in named if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE))
        if found:
            return found
    return ()


@dataclass(frozen=True)
class FacetRow:
    """A searchable source's facet values, as the store lists them for the facet table."""

    id: str
    type: str
    date: str | None
    councils: tuple[str, ...]  # every council it names (the "mentions" facet)
    themes: tuple[str, ...]
    projects: tuple[tuple[str, str], ...]  # (slug, name)
    judgements: tuple[tuple[str, str], ...] = ()  # (slug, label) of an inspection's judgements
    about: tuple[str, ...] = ()  # the councils it is about (about_councils; the "council" facet)

    @classmethod
    def of(cls, source_id: str, kind: str, date: str | None, councils: tuple[str, ...], themes: tuple[str, ...],
           projects: Sequence[Mapping[str, Any]], inspection: Inspection | None, publisher: str | None,
           title: str) -> FacetRow:
        """A source's facet row from its stored columns (both backends' stores read the same ones)."""
        return cls(id=source_id, type=kind, date=date, councils=councils, themes=themes,
                   projects=tuple((p["slug"], p["name"]) for p in projects),
                   judgements=inspection.facet_values() if inspection is not None else (),
                   about=about_councils(councils, inspection, publisher, title))


@dataclass(frozen=True)
class Project:
    """One innovation project or practice model.

    ``aliases`` link wherever they appear; ``weak_aliases`` (a council's name, a common phrase)
    link only in a passage that also holds one of the ``context`` words.
    """

    slug: str
    name: str
    description: str
    aliases: tuple[str, ...] = ()
    weak_aliases: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    councils: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    links: tuple[dict[str, str], ...] = field(default_factory=tuple)
    # Other catalogue projects (slugs) this one is built on, or is a version of, as a source says: the reasons
    # "related projects" give first (issue 26). Checked against the catalogue when it is loaded.
    based_on: tuple[str, ...] = ()
    version_of: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Project:
        """A project as ``projects.json`` holds it (lists for tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v  # type: ignore[arg-type]
                      for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class CouncilDetails:
    """What the browse pages know of a council beyond the sources (``councils.json``, written by the ingest):
    its type and region, its statistical neighbours and its latest Ofsted judgement."""

    type: str = ""
    region: str = ""
    statistical_neighbours: tuple[str, ...] = ()
    ofsted_published: str = ""
    overall_effectiveness: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.type or self.region:
            data.update(type=self.type, region=self.region)
        if self.statistical_neighbours:
            data["statistical_neighbours"] = list(self.statistical_neighbours)
        if self.ofsted_published:
            data["ofsted"] = {"published": self.ofsted_published, "overall_effectiveness": self.overall_effectiveness}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CouncilDetails:
        ofsted = data.get("ofsted") or {}
        return cls(type=str(data.get("type", "")), region=str(data.get("region", "")),
                   statistical_neighbours=tuple(data.get("statistical_neighbours", ())),
                   ofsted_published=str(ofsted.get("published", "")),
                   overall_effectiveness=str(ofsted.get("overall_effectiveness", "")))


class Found(StrEnum):
    """Where a run found a set-up file (the projects catalogue, the canaries): written by the ingest into its run
    report, read by ``kb status`` and the status page; the value is how reports say it."""

    BESIDE = "beside the ingested folder"
    CONFIGURED = "configured"
    LIVE = "kept from the live index"
    SHIPPED = "shipped with the package"
    OFF = "switched off by an empty setting"
    MISSING = "not found"


@dataclass(frozen=True)
class SetupUse:
    """A set-up file one run used, as its run report records it (``ingest/setup_files.py`` writes it)."""

    path: str | None
    found: str
    entries: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SetupUse | None:
        if not isinstance(data, Mapping):
            return None
        return cls(path=data.get("path"), found=str(data.get("found", "")), entries=int(data.get("entries") or 0))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "found": self.found, "entries": self.entries}


@dataclass(frozen=True)
class RunRecord:
    """How the last ingest or re-index ended, read back from its run report (written by ``ingest/run_report.py``'s
    ``RunReport``): what ``kb status`` and the web app's warnings read. Reports written before a field existed
    read with its default (``kind`` ingest, ``published`` from whether it named a generation, no set-up)."""

    run_id: str | None
    kind: str
    generation: str | None
    published: bool
    failed_files: int
    gate: str | None
    catalogue: SetupUse | None
    canaries: SetupUse | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        setup = data.get("setup") or {}
        gate = data.get("gate")
        return cls(run_id=data.get("run_id"), kind=str(data.get("kind") or "ingest"),
                   generation=data.get("generation"),
                   published=bool(data.get("published", data.get("generation") is not None)),
                   failed_files=len(data.get("failures") or []),
                   gate=gate.get("status") if isinstance(gate, Mapping) else None,
                   catalogue=SetupUse.from_dict(setup.get("catalogue")),
                   canaries=SetupUse.from_dict(setup.get("canaries")))

    def status_dict(self) -> dict[str, Any]:
        """``kb status --json``'s ``last_run`` (its shape is a contract: monitoring reads it)."""
        return {"run_id": self.run_id, "kind": self.kind, "published": self.published,
                "failed_files": self.failed_files, "gate": self.gate,
                "catalogue": self.catalogue.to_dict() if self.catalogue else None,
                "canaries": self.canaries.to_dict() if self.canaries else None}
