"""Browsing for leaders: projects, councils and themes, related projects, the story over time.

Each page's data is one :class:`~webapp.resource.Resource` (``ProjectPage``, ``CouncilPage``, ...),
built once and served both as the page and as JSON under /api/ (see ``webapp/resource.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from flask import Blueprint, abort, request, url_for
from markupsafe import Markup

from index.browse.catalogue import (
    UNDATED,
    Browse,
    CouncilUse,
    CouncilView,
    Neighbour,
    ProjectView,
    YearCounts,
    catalogue_projects,
)
from index.browse.pages import date_key
from index.browse.related import RelatedProject, related_projects
from index.browse.taxonomy import Theme, theme_labels
from index.errors import QueryError
from index.params import checked_value, checked_year, single
from index.records import JUDGEMENT_AREAS, Inspection, ProjectMention, SourceRecord, ThemeTag
from index.search.facets import FacetSelection, slugify
from webapp.charts import GRADE_ROWS, colours, grade_chart, type_order, year_chart
from webapp.documents import theme_evidence_html, theme_evidence_url
from webapp.index_handle import get_index
from webapp.resource import Resource, council_ref, document_url, project_ref, route, source_json, theme_json

bp = Blueprint("browse", __name__)
api = Blueprint("browse_api", __name__, url_prefix="/api")

SORTS = {"name": "Name", "recent": "Most recent", "sources": "Most sources"}


def _browse() -> Browse:
    return get_index().served().browse


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


@dataclass(frozen=True)
class Chart:
    """What the chart partial needs: the SVG of sources per year (by type) and the same figures as tables,
    with sources of no known date in their own column."""

    svg: Markup
    counts: YearCounts
    columns: list[str]  # the years, then UNDATED when some source has no date
    types: list[str]  # type slugs, the chart's stacking order
    themes: list[str]  # theme ids that occur, in taxonomy order, "other" last
    labels: dict[str, str]  # theme labels
    colours: dict[str, str]  # type slug → colour
    title_id: str

    @property
    def drawn_types(self) -> list[str]:
        """The types the chart draws (some undated sources may be of a type no bar has): the legend."""
        return [t for t in self.types if any(self.counts.by_type[y].get(t) for y in self.counts.years)]

    def theme_total(self, theme_id: str) -> int:
        return sum(self.counts.by_theme[c].get(theme_id, 0) for c in self.columns)

    def type_total(self, slug: str) -> int:
        return sum(self.counts.by_type[c].get(slug, 0) for c in self.columns)

    def to_json(self) -> dict[str, Any]:
        """Sources per year counted once, the number of no known date, and per year by theme (a source under
        each of its themes; ``by_year``, dated sources only, as published)."""
        counts = self.counts
        return {"sources_per_year": {y: counts.sources(y) for y in counts.years},
                "undated_source_count": counts.undated,
                "by_year": {y: counts.by_theme[y] for y in counts.years}}


def _chart(source_ids: list[str], title_id: str) -> Chart:
    browse = _browse()
    counts = browse.year_counts(source_ids)
    labels = {**theme_labels(), "other": "No theme"}
    theme_ids = [t.id for t, _ in browse.themes()]
    used = [t for t in [*theme_ids, "other"] if any(t in c for c in counts.by_theme.values())]
    types = type_order(counts)
    columns = [*counts.years, UNDATED] if counts.undated else list(counts.years)
    return Chart(year_chart(counts, title_id), counts, columns, types, used, labels, colours(types), title_id)


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
    return {"council_links": council_links, "theme_links": theme_links, "external_links": external_links,
            "judgement_areas": JUDGEMENT_AREAS, "judgement_facet": judgement_facet, "grade_slug": grade_slug,
            "grade_rows": GRADE_ROWS}


# -- inspections: who uses a model, and how they were judged -------------------------------------

def inspection_json(record: SourceRecord) -> dict[str, Any]:
    """An inspection report: the source, its inspection (OpenAPI ``Inspection``) and its overall grade."""
    inspection = record.inspection
    return source_json(record, inspection=inspection.to_dict() if inspection else None,
                       overall_effectiveness=inspection.overall if inspection else None)


def _report_json(record: SourceRecord, mention: ProjectMention) -> dict[str, Any]:
    return source_json(record, ordinal=mention.ordinal, relation=mention.relation, excerpt=mention.excerpt,
                       passage_url=document_url(record.id, mention.ordinal))


def _use_json(use: CouncilUse) -> dict[str, Any]:
    return council_ref(use.slug, use.name, relation="uses" if use.uses else "mentions",
                       reports=[_report_json(r, m) for r, m in use.reports],
                       inspections=[inspection_json(r) for r in use.inspections])


@dataclass(frozen=True)
class InspectionTable:
    """Inspection judgements as a table: a row per report (with its council when the table mixes councils),
    a column per judgement area any of the reports gives."""

    caption: str
    rows: list[tuple[str | None, SourceRecord]]  # (council name or None, report)
    areas: list[tuple[str, str]]  # (area, label)

    @classmethod
    def of(cls, caption: str, rows: list[tuple[str | None, SourceRecord]]) -> InspectionTable:
        given = {j.area for _, r in rows if r.inspection for j in r.inspection.judgements}
        # A joint "children in care and care leavers" judgement (ILACS 2018-2023) fills the care leavers column too.
        if any(r.inspection and joint_care_leavers(r.inspection) for _, r in rows):
            given.add("care_leavers")
        return cls(caption, rows, [(a, label) for a, label in JUDGEMENT_AREAS.items() if a in given])

    def cells(self, record: SourceRecord) -> list[GradeCell]:
        """A report's judgements, one cell per column; a joint judgement is one cell spanning both its columns."""
        inspection = record.inspection
        out: list[GradeCell] = []
        areas = [area for area, _ in self.areas]
        skip = False
        for at, (area, label) in enumerate(self.areas):
            if skip:
                skip = False
                continue
            grade = inspection.grade(area) if inspection is not None else None
            joint = inspection is not None and area == "in_care" and joint_care_leavers(inspection)
            if joint and at + 1 < len(areas) and areas[at + 1] == "care_leavers":
                out.append(GradeCell((grade or "Not given").capitalize(), 2, "Children in care and care leavers",
                                     "judged together"))
                skip = True
            elif joint:
                out.append(GradeCell((grade or "Not given").capitalize(), 1, label, "with care leavers"))
            else:
                out.append(GradeCell((grade or "Not given").capitalize(), 1, label, ""))
        return out


@dataclass(frozen=True)
class GradeCell:
    """One judgement as the inspection table shows it: the grade, how many columns it spans, the column's
    name (for the narrow layout), and a note ("judged together")."""

    grade: str
    span: int
    label: str
    note: str


def joint_care_leavers(inspection: Inspection) -> bool:
    """Whether a report judged children in care and care leavers together (ILACS 2018-2023: "The experiences and
    progress of children in care and care leavers"), which it records under children in care only."""
    return inspection.grade("care_leavers") is None and any(
        j.area == "in_care" and "care leaver" in j.label.lower() for j in inspection.judgements)


def _grades(uses: list[CouncilUse], title_id: str) -> Markup:
    return grade_chart({u.name: [(r.inspection.published or "", r.inspection.overall or "")
                                 for r in u.inspections if r.inspection] for u in uses}, title_id)


# -- resources: each built once, served as a page and as /api/ JSON ------------------------------

def _project_summary(project: ProjectView) -> dict[str, Any]:
    return project_ref(project.slug, project.name, councils=project.councils, themes=project.themes,
                       years=project.years, source_count=len(project.sources))


def _council_summary(council: CouncilView) -> dict[str, Any]:
    return council_ref(council.slug, council.name, region=council.region, type=council.type,
                       source_count=len(council.sources), projects=council.projects)


@dataclass
class ProjectsPage(Resource):
    template: ClassVar[str] = "browse/projects.html"
    projects: list[ProjectView]
    chosen: dict[str, str]
    sorts: dict[str, str]
    councils: list[CouncilView]
    themes: list[tuple[Theme, list[str]]]
    years: list[int]
    catalogue_size: int  # projects in the index's catalogue: 0 means it was built without one

    def context(self) -> dict[str, Any]:
        return {**super().context(), "filtered": any(self.chosen[name] for name in ("theme", "council", "year"))}

    def to_json(self) -> dict[str, Any]:
        return {"projects": [_project_summary(p) for p in self.projects]}


def build_projects() -> ProjectsPage:
    listing, chosen = _projects_listing()
    browse = _browse()
    every = browse.projects()
    return ProjectsPage(listing, chosen, SORTS, [c for c in browse.councils() if c.projects], browse.themes(),
                        sorted({y for p in every for y in p.year_range()}), len(every))


@dataclass
class ProjectPage(Resource):
    template: ClassVar[str] = "browse/project.html"
    project: ProjectView
    sources: list[tuple[SourceRecord, ProjectMention | None]]
    related: list[RelatedProject]
    chart: Chart
    project_facet: FacetSelection
    using: list[CouncilUse]  # councils whose inspection reports say they use it
    mentioning: list[CouncilUse]  # councils whose inspection reports only mention it
    grade_svg: Markup  # overall effectiveness over time of the councils using it
    grade_table: InspectionTable

    def to_json(self) -> dict[str, Any]:
        p = self.project
        sources = []
        for record, mention in self.sources:
            ordinal = mention.ordinal if mention else None
            sources.append(source_json(record, ordinal=ordinal, passage=ordinal,
                                       excerpt=mention.excerpt if mention else None,
                                       passage_url=document_url(record.id, ordinal) if mention else None))
        return {**_project_summary(p), "description": p.description, "partners": p.partners, "links": p.links,
                "aliases": p.aliases, "sources": sources,
                "related": [project_ref(r.project.slug, r.project.name, reason=r.reason, reasons=list(r.reasons),
                                        score=r.score) for r in self.related],
                **self.chart.to_json(),
                "councils_using": [_use_json(u) for u in self.using],
                "councils_mentioning": [_use_json(u) for u in self.mentioning]}


def build_project(slug: str) -> ProjectPage:
    browse = _browse()
    item = browse.project(slug)
    if item is None:
        abort(404)
    uses = browse.project_councils(slug)
    using = [u for u in uses if u.uses]
    return ProjectPage(item, [(browse.sources[s], browse.mention(slug, s)) for s in item.sources],
                       related_projects(browse, catalogue_projects(get_index().served().generation), slug),
                       _chart(item.sources, "chart-title"),
                       FacetSelection({"project": (slug,)}), using, [u for u in uses if not u.uses],
                       _grades(using, "grades-title"),
                       InspectionTable.of("Inspection judgements of the councils using it, oldest first",
                                          [(u.name, r) for u in using for r in u.inspections]))


@dataclass
class CouncilsPage(Resource):
    """Every council, by region; or with ``?judged=inadequate`` (any of Ofsted's four grades, hyphenated) the
    councils whose latest overall effectiveness is that grade, with the models their reports say they use."""

    template: ClassVar[str] = "browse/councils.html"
    councils: list[CouncilView]
    regions: list[tuple[str, list[CouncilView]]]
    judged: list[Judged]  # every council with a known latest judgement
    grade: str  # the grade chosen (Ofsted's words), or ""

    def context(self) -> dict[str, Any]:
        by_grade = {g: [j for j in self.judged if j.grade == g] for g in GRADE_ROWS}
        return {**super().context(), "by_grade": by_grade, "chosen": by_grade.get(self.grade, [])}

    def to_json(self) -> dict[str, Any]:
        if self.grade:
            return {"judged": self.grade, "councils": [
                {**_council_summary(j.council), "overall_effectiveness": j.grade, "published": j.published,
                 "judged_from": "index" if j.source_id else "ofsted-overview",
                 "report_url": document_url(j.source_id) if j.source_id else None,
                 "projects_used": [project_ref(p.slug, p.name) for p in j.uses]}
                for j in self.judged if j.grade == self.grade]}
        return {"councils": [_council_summary(c) for c in self.councils]}


@dataclass(frozen=True)
class Judged:
    """A council's latest overall effectiveness: from its newest report in the index, or from Ofsted's overview
    when that knows a newer graded inspection or none is indexed; and the models its reports say it uses."""

    council: CouncilView
    grade: str
    published: str | None
    source_id: str | None  # the report in the index, or None (Ofsted's overview)
    uses: list[ProjectView]


def grade_slug(grade: str) -> str:
    return grade.replace(" ", "-")


def judgement_facet(grade: str) -> FacetSelection:
    """The search filter of the inspection reports judging overall effectiveness ``grade`` (/search?judgement=…)."""
    return FacetSelection({"judgement": (f"overall-effectiveness-{grade_slug(grade)}",)})


def judged_councils(browse: Browse) -> list[Judged]:
    out = []
    for council in browse.councils():
        reports = browse.inspections(council.name)
        latest = reports[-1].inspection if reports else None
        grade, published = council.ofsted.get("overall_effectiveness") or None, council.ofsted.get("published")
        source_id = None
        newer = grade is None or date_key(latest.published if latest else None) >= date_key(published)
        if latest is not None and latest.overall and newer:
            grade, published, source_id = latest.overall, latest.published, reports[-1].id
        if grade in GRADE_ROWS:
            uses = [p for p in (browse.project(slug) for slug in browse.uses(council.name)) if p is not None]
            out.append(Judged(council, grade, published, source_id, uses))
    return out


def build_councils() -> CouncilsPage:
    browse = _browse()
    judged = _arg("judged", {grade_slug(g): g for g in GRADE_ROWS})
    return CouncilsPage(browse.councils(), browse.councils_by_region(), judged_councils(browse),
                        judged.replace("-", " "))


@dataclass
class CouncilPage(Resource):
    template: ClassVar[str] = "browse/council.html"
    council: CouncilView
    led: list[ProjectView]
    mentioned: list[ProjectView]
    sources: list[SourceRecord]
    chart: Chart
    council_facet: FacetSelection  # the sources naming it ("mentions"), as listed on the page
    about_facet: FacetSelection  # the sources about it ("council": its inspections, its publications, titles)
    about_count: int
    inspections: list[SourceRecord]  # its inspection reports, oldest first
    uses: list[tuple[ProjectView, list[tuple[SourceRecord, ProjectMention]]]]  # models its reports say it uses
    named: list[tuple[ProjectView, list[tuple[SourceRecord, ProjectMention]]]]  # models its reports only mention
    neighbours: list[Neighbour]
    neighbour_projects: dict[str, ProjectView]  # the projects neighbours use, by slug
    inspection_table: InspectionTable
    # sources that never name it but name a partnership it is in: (source, the words, the project they name)
    through: list[tuple[SourceRecord, str, ProjectView | None]]

    def to_json(self) -> dict[str, Any]:
        def model(project: ProjectView, reports: list[tuple[SourceRecord, ProjectMention]]) -> dict[str, Any]:
            return project_ref(project.slug, project.name, reports=[_report_json(r, m) for r, m in reports])

        neighbours = [{**council_ref(n.slug, n.name, overall_effectiveness=n.overall, published=n.published,
                                     judged_from="index" if n.source_id else "ofsted-overview",
                                     report_url=document_url(n.source_id) if n.source_id else None,
                                     uses=[project_ref(s, self.neighbour_projects[s].name) for s in n.uses]),
                       **({} if n.has_page else {"page_url": None})}
                      for n in self.neighbours]
        return {**_council_summary(self.council),
                "inspections": [inspection_json(r) for r in self.inspections],
                "projects_used": [model(p, reports) for p, reports in self.uses],
                "projects_named": [model(p, reports) for p, reports in self.named],
                "statistical_neighbours": neighbours,
                "led_projects": [_project_summary(p) for p in self.led],
                "mentioned_projects": [_project_summary(p) for p in self.mentioned],
                "sources": [source_json(r, evidence=next((c.evidence for c in r.tags.councils
                                                          if slugify(c.name) == self.council.slug), ""))
                            for r in self.sources],
                "sources_through_projects": [
                    source_json(r, through=group, project=project_ref(p.slug, p.name) if p else None)
                    for r, group, p in self.through],
                **self.chart.to_json()}


def build_council(slug: str) -> CouncilPage:
    browse = _browse()
    item = browse.council(slug)
    if item is None:
        abort(404)
    named_projects = {p for s in item.sources for p in browse.sources[s].project_slugs}
    led = [p for p in (browse.project(s) for s in item.projects) if p is not None]
    mentioned = [p for p in browse.projects() if p.slug in named_projects and p.slug not in item.projects]
    reports = browse.council_projects(item.name)
    models = [(p, reports[p.slug]) for p in browse.projects() if p.slug in reports]
    uses = [(p, pairs) for p, pairs in models if any(m.relation == "uses" for _, m in pairs)]
    neighbours = browse.neighbours(slug)
    neighbour_projects = {s: p for n in neighbours for s in n.uses if (p := browse.project(s)) is not None}
    return CouncilPage(item, led, mentioned, [browse.sources[s] for s in item.sources],
                       _chart(item.sources, "chart-title"), FacetSelection({"mentions": (slug,)}),
                       FacetSelection({"council": (slug,)}),
                       len(get_index().searcher().facet_table.postings["council"].get(slug, ())),
                       browse.inspections(item.name), uses, [pm for pm in models if pm not in uses], neighbours,
                       neighbour_projects,
                       InspectionTable.of(f"Ofsted inspections of {item.name}, oldest first",
                                          [(None, r) for r in browse.inspections(item.name)]),
                       [(browse.sources[s], group, browse.group_project(group)) for s, group in item.through])


def _theme_summary(theme: Theme, source_ids: list[str]) -> dict[str, Any]:
    counts = _browse().year_counts(source_ids)
    return theme_json(theme.id, theme.label, description=theme.description, source_count=len(source_ids),
                      by_year={y: counts.sources(y) for y in counts.years}, undated_source_count=counts.undated)


@dataclass
class ThemesPage(Resource):
    template: ClassVar[str] = "browse/themes.html"
    themes: list[tuple[Theme, list[str]]]
    chart: Chart

    def to_json(self) -> dict[str, Any]:
        return {"themes": [_theme_summary(t, s) for t, s in self.themes], "source_count": self.chart.counts.total}


def build_themes() -> ThemesPage:
    browse = _browse()
    return ThemesPage(browse.themes(), _chart(list(browse.sources), "chart-title"))


@dataclass
class ThemePage(Resource):
    template: ClassVar[str] = "browse/theme.html"
    theme: Theme
    sources: list[SourceRecord]
    projects: list[ProjectView]
    chart: Chart
    theme_facet: FacetSelection
    # Source id → "tagged because: …" (the paragraph that shows the theme), for the list.
    evidence: dict[str, Markup]

    def to_json(self) -> dict[str, Any]:
        sources = []
        for record in self.sources:
            tag = _tag_of(record, self.theme.id)
            sources.append(source_json(record, reason=tag.reason, evidence=tag.evidence,
                                       evidence_url=theme_evidence_url(record.id, tag)))
        return {**_theme_summary(self.theme, [r.id for r in self.sources]),
                "projects": [_project_summary(p) for p in self.projects], "sources": sources}


def _tag_of(record: SourceRecord, theme_id: str) -> ThemeTag:
    return next((t for t in record.tags.themes if t.id == theme_id), ThemeTag(theme_id))


def build_theme(theme_id: str) -> ThemePage:
    browse = _browse()
    found = browse.theme(theme_id)
    if found is None:
        abort(404)
    item, source_ids = found
    records = [browse.sources[s] for s in source_ids]
    return ThemePage(item, records, browse.projects_with_theme(theme_id),
                     _chart(source_ids, "chart-title"), FacetSelection({"theme": (theme_id,)}),
                     {r.id: theme_evidence_html(r.id, _tag_of(r, theme_id)) for r in records})


route(bp, api, "/projects", "projects", build_projects)
route(bp, api, "/projects/<slug>", "project", build_project)
route(bp, api, "/councils", "councils", build_councils)
route(bp, api, "/councils/<slug>", "council", build_council)
route(bp, api, "/themes", "themes", build_themes)
route(bp, api, "/themes/<theme_id>", "theme", build_theme)
