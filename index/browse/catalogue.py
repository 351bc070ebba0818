"""Browsing without a query: projects, councils and themes, related documents and projects, and
publications per year. Built once per generation (generations never change) from what its build
stored for the pages (index/pages.py: facet values, inspections, sources' mean vectors; computed from
the store for an older generation), reading a source record only when a page shows it.

Usage::

    browse = Browse(generation)
    browse.projects()                     # [ProjectView, ...]
    browse.related_projects("signs-of-safety")
    browse.related_documents(source_id)   # nearest sources by embedding
    browse.by_year(source_ids)            # {year: {theme_id: count}}
    browse.year_counts(source_ids)        # YearCounts: each source once a year (by type), undated apart
    browse.project_councils("north-yorkshire-no-wrong-door")  # [CouncilUse, ...]: who its inspections say uses it
    browse.inspections("North Yorkshire")  # its inspection reports, oldest first
    browse.neighbours("dorset")            # [Neighbour, ...]: its statistical neighbours, judged and what they use
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.browse.pages import GenerationPages, SourceRecords, date_key
from index.browse.taxonomy import Theme, theme_labels, themes
from index.records import CouncilDetails, Project, ProjectMention, SourceRecord
from index.search.facets import FACETS, slugify
from index.storage.contract import Generation
from index.storage.layout import COUNCILS_FILE, PROJECTS_FILE

# Related projects: how much each shared attribute adds to the similarity of their sources.
SHARED_THEME, SHARED_COUNCIL, SHARED_SOURCE = 0.05, 0.05, 0.1


@dataclass
class ProjectView:
    slug: str
    name: str
    description: str
    councils: list[str]
    partners: list[str]
    themes: list[str]
    years: list[int]
    links: list[dict[str, str]]
    aliases: list[str]
    sources: list[str] = field(default_factory=list)  # source ids, newest first

    def year_range(self) -> range:
        """The years it ran: [start] is one year, [start, end] every year between; none if unknown."""
        return range(self.years[0], self.years[-1] + 1) if self.years else range(0)

    def summary(self) -> dict[str, Any]:
        return {"slug": self.slug, "name": self.name, "councils": self.councils, "themes": self.themes,
                "years": self.years, "sources": len(self.sources)}


@dataclass
class CouncilView:
    slug: str
    name: str
    sources: list[str]  # those whose text names it, and its inspection reports
    projects: list[str]  # slugs of projects it leads
    region: str = ""
    type: str = ""
    statistical_neighbours: list[str] = field(default_factory=list)  # names, Ofsted's order
    ofsted: dict[str, str] = field(default_factory=dict)  # its latest inspection in Ofsted's overview
    # (source id, the group's words) of sources that never name it but name a group or partnership it is in
    through: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"slug": self.slug, "name": self.name, "region": self.region, "type": self.type,
                "sources": len(self.sources), "projects": self.projects}


@dataclass
class CouncilUse:
    """A council whose inspection reports name a project: the reports that do (each with the passage), and
    every inspection of it in the index, so a reader sees how it was judged before and after."""

    slug: str
    name: str
    uses: bool  # a report says the council uses the project (else its reports only mention it)
    reports: list[tuple[SourceRecord, ProjectMention]]  # newest first; those saying "uses" when uses is true
    inspections: list[SourceRecord]  # all its inspection reports, oldest first


@dataclass(frozen=True)
class Neighbour:
    """One of a council's statistical neighbours: its latest judgement and the projects its reports say it uses."""

    slug: str
    name: str
    overall: str | None  # overall effectiveness at its latest inspection
    published: str | None
    source_id: str | None  # the report in the index that judgement is from; None when from Ofsted's overview
    uses: list[str]  # project slugs
    has_page: bool = False  # the index names it, so it has a council page


UNDATED = "not known"  # YearCounts' key for sources of no known date


@dataclass(frozen=True)
class YearCounts:
    """Sources per year. ``by_type`` counts each source once (its type), so a year's types add up to its
    sources; ``by_theme`` counts a source under each of its themes ("other" when it has none), so a year's
    themes may add up to more. Both have the key :data:`UNDATED` after the years when some source has no date."""

    years: list[str]  # the years with dated sources, ascending
    by_type: dict[str, dict[str, int]]
    by_theme: dict[str, dict[str, int]]
    type_labels: dict[str, str]

    def sources(self, year: str) -> int:
        return sum(self.by_type.get(year, {}).values())

    @property
    def undated(self) -> int:
        return self.sources(UNDATED)

    @property
    def dated(self) -> int:
        return sum(self.sources(y) for y in self.years)

    @property
    def total(self) -> int:
        return self.dated + self.undated


def catalogue_projects(generation: Generation) -> list[Project]:
    """The projects catalogue a generation was linked with (``projects.json``; [] if none)."""
    text = generation.read_text(PROJECTS_FILE)
    return [] if text is None else [Project.from_dict(p) for p in json.loads(text)["projects"]]


def council_details(generation: Generation) -> dict[str, CouncilDetails]:
    """What ``councils.json`` says of each council this generation names, inspects or leads projects with, and of
    their statistical neighbours ({} if it has none)."""
    text = generation.read_text(COUNCILS_FILE)
    return {} if text is None else {name: CouncilDetails.from_dict(d) for name, d in json.loads(text).items()}


class Browse:
    """The browse views of one generation.

    :param pages: what the pages read across the generation's sources (:class:`GenerationPages`, shared with
        the searcher's facet table); loaded here if None.
    """

    def __init__(self, generation: Generation, pages: GenerationPages | None = None) -> None:
        pages = pages or GenerationPages(generation)
        self.store = generation.store
        self._pages = pages
        index = pages.index
        # Newest first, undated last, then by title: the order of every list of sources here. Records are
        # read from the store when a page first shows them.
        self.sources: SourceRecords = pages.records
        self._projects = {p.slug: ProjectView(
            slug=p.slug, name=p.name, description=p.description, councils=list(p.councils),
            partners=list(p.partners), themes=list(p.themes), years=list(p.years), links=list(p.links),
            aliases=list(p.aliases)) for p in catalogue_projects(generation)}
        councils = dict(index.council_names)
        self._inspections = index.inspections
        inspected = {source_id: council for council, ids in index.inspections.items() for source_id in ids}
        council_sources: dict[str, list[str]] = defaultdict(list)
        council_through: dict[str, list[tuple[str, str]]] = defaultdict(list)
        theme_sources: dict[str, list[str]] = defaultdict(list)
        for source_id in index.order:
            values = index.facets.get(source_id)
            if values is None:
                continue
            by_facet = dict(zip(FACETS, values, strict=True))
            for slug in by_facet["project"]:
                project = self._projects.get(slug)
                if project is not None:
                    project.sources.append(source_id)
            via = index.council_via.get(source_id, {})
            for slug in by_facet["mentions"]:  # every council it names ("council" is the one it is about)
                if slug in via:
                    council_through[slug].append((source_id, via[slug]))
                else:
                    council_sources[slug].append(source_id)
            for theme_id in by_facet["theme"]:
                theme_sources[theme_id].append(source_id)
            if source_id in inspected:
                listed = council_sources[slugify(inspected[source_id])]
                if not listed or listed[-1] != source_id:
                    listed.append(source_id)
        leads: dict[str, list[str]] = defaultdict(list)
        for project in self._projects.values():
            for name in project.councils:
                councils.setdefault(slugify(name), name)
                leads[slugify(name)].append(project.slug)
        details = council_details(generation)
        self._details = details
        self._councils = {}
        for slug, name in sorted(councils.items(), key=lambda item: item[1].lower()):
            about = details.get(name, CouncilDetails())
            self._councils[slug] = CouncilView(slug, name, council_sources.get(slug, []), leads.get(slug, []),
                                               about.region, about.type, list(about.statistical_neighbours),
                                               about.to_dict().get("ofsted", {}), council_through.get(slug, []))
        self._theme_sources = dict(theme_sources)

    # -- lists -----------------------------------------------------------------------------------

    def projects(self) -> list[ProjectView]:
        return sorted(self._projects.values(), key=lambda p: p.name.lower())

    def project(self, slug: str) -> ProjectView | None:
        return self._projects.get(slug)

    def mention(self, slug: str, source_id: str) -> ProjectMention | None:
        """Where a source names a project (its first passage doing so), if it does."""
        record = self.sources.get(source_id)
        return record.project(slug) if record is not None else None

    def group_project(self, group: str) -> ProjectView | None:
        """The catalogue project a council group's words name ("Achieving for Children"), if one does."""
        wanted = slugify(group)
        return next((p for p in self.projects() if wanted in {p.slug, *(slugify(a) for a in (p.name, *p.aliases))}),
                    None)

    def councils(self) -> list[CouncilView]:
        """Alphabetical."""
        return list(self._councils.values())

    def councils_by_region(self) -> list[tuple[str, list[CouncilView]]]:
        """Regions in alphabetical order (councils of no known region last), councils alphabetical in each."""
        regions: dict[str, list[CouncilView]] = defaultdict(list)
        for council in self._councils.values():
            regions[council.region].append(council)
        return sorted(regions.items(), key=lambda item: (item[0] == "", item[0]))

    def council(self, slug: str) -> CouncilView | None:
        return self._councils.get(slug)

    # -- inspections -----------------------------------------------------------------------------

    def inspections(self, council: str) -> list[SourceRecord]:
        """The inspection reports of a council (by name) in this generation, oldest first."""
        return self.sources.load(self._inspections.get(council, ()))

    def _named(self, council: str) -> dict[str, list[tuple[str, str]]]:
        """``{project slug: [(report id, relation), ...]}`` of the projects the council's inspection reports
        name, newest report first, from the stored index (no records read)."""
        found: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for source_id in reversed(self._inspections.get(council, ())):
            for slug, relation in self._pages.index.inspection_projects.get(source_id, ()):
                if slug in self._projects:
                    found[slug].append((source_id, relation))
        return found

    def council_projects(self, council: str) -> dict[str, list[tuple[SourceRecord, ProjectMention]]]:
        """``{project slug: [(report, mention), ...]}`` for the projects the council's inspection reports name,
        newest report first; a project its reports say it uses lists only the reports saying so."""
        return {slug: self._reports(slug, reports) for slug, reports in self._named(council).items()}

    def _reports(self, slug: str, reports: list[tuple[str, str]]) -> list[tuple[SourceRecord, ProjectMention]]:
        chosen = [source_id for source_id, relation in reports if relation == "uses"] or [s for s, _ in reports]
        return [(record, mention) for record in self.sources.load(chosen)
                if (mention := record.project(slug)) is not None]

    def uses(self, council: str) -> list[str]:
        """Slugs of the projects the council's inspection reports say it uses, by project name."""
        named = self._named(council)
        return [p.slug for p in self.projects() if any(relation == "uses" for _, relation in named.get(p.slug, ()))]

    def project_councils(self, slug: str) -> list[CouncilUse]:
        """The councils whose inspection reports name the project: those said to use it first, then those
        whose reports only mention it; alphabetical within each."""
        out = []
        for council in sorted(self._inspections, key=str.lower):
            named = self._named(council).get(slug)
            if not named:
                continue
            reports = self._reports(slug, named)
            uses = any(m.relation == "uses" for _, m in reports)
            out.append(CouncilUse(slugify(council), council, uses, reports, self.inspections(council)))
        out.sort(key=lambda use: not use.uses)
        return out

    def neighbours(self, slug: str) -> list[Neighbour]:
        """A council's statistical neighbours (Ofsted's list, its order), each with its latest overall judgement:
        from the newest report in the index, or from Ofsted's overview when that has a newer
        graded inspection or none is indexed."""
        council = self._councils.get(slug)
        if council is None:
            return []
        out = []
        for name in council.statistical_neighbours:
            reports = self._inspections.get(name, ())
            latest = self.sources[reports[-1]] if reports else None
            about = self._details.get(name, CouncilDetails()).to_dict().get("ofsted", {})
            overall, published, source_id = about.get("overall_effectiveness") or None, about.get("published"), None
            # The indexed report unless Ofsted's list knows a newer, graded inspection than the index holds.
            if latest is not None and latest.inspection is not None and (
                    overall is None or _date_key(latest.inspection.published) >= _date_key(published)):
                overall, published, source_id = latest.inspection.overall, latest.inspection.published, latest.id
            out.append(Neighbour(slugify(name), name, overall, published, source_id, self.uses(name),
                                 slugify(name) in self._councils))
        return out

    def themes(self) -> list[tuple[Theme, list[str]]]:
        """Every theme with its sources (newest first), in the taxonomy's order."""
        return [(theme, self._theme_sources.get(theme.id, [])) for theme in themes()]

    def theme(self, theme_id: str) -> tuple[Theme, list[str]] | None:
        return next(((t, s) for t, s in self.themes() if t.id == theme_id), None)

    def projects_with_theme(self, theme_id: str) -> list[ProjectView]:
        return [p for p in self.projects() if theme_id in p.themes]

    def by_year(self, source_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """Publications per year by theme: ``{year: {theme_id: count}}``, years ascending, dated sources only.

        A source with several themes counts once under each; one with none counts under "other".
        """
        index = self._pages.index
        table: dict[str, Counter] = defaultdict(Counter)
        for source_id in source_ids:
            year = index.values(source_id, "year")
            if not year:
                continue
            for theme_id in index.values(source_id, "theme") or ("other",):
                table[year[0]][theme_id] += 1
        return {year: dict(table[year]) for year in sorted(table)}

    def year_counts(self, source_ids: Iterable[str]) -> YearCounts:
        """Sources per year, each counted once (under its type), with those of no known date apart."""
        index = self._pages.index
        by_type: dict[str, Counter] = defaultdict(Counter)
        by_theme: dict[str, Counter] = defaultdict(Counter)
        for source_id in source_ids:
            year = index.values(source_id, "year")
            key = year[0] if year and year[0].isdigit() else UNDATED
            by_type[key][(index.values(source_id, "type") or ("other",))[0]] += 1
            for theme_id in index.values(source_id, "theme") or ("other",):
                by_theme[key][theme_id] += 1
        years = sorted(y for y in by_type if y != UNDATED)
        keys = [*years, UNDATED] if UNDATED in by_type else years
        return YearCounts(years=years, by_type={y: dict(by_type[y]) for y in keys},
                          by_theme={y: dict(by_theme[y]) for y in keys},
                          type_labels=dict(index.labels.get("type", {})))

    # -- similarity ------------------------------------------------------------------------------

    def _vector_of(self, source_ids: Iterable[str]) -> np.ndarray | None:
        vectors = self._pages.vectors
        index = vectors.rows
        rows = [index[s] for s in source_ids if s in index]
        if not rows:
            return None
        vector = vectors.matrix[rows].mean(axis=0)
        return vector / (np.linalg.norm(vector) + 1e-12)

    def related_documents(self, source_id: str, k: int = 5) -> list[tuple[SourceRecord, float]]:
        """The ``k`` sources nearest to this one by embedding; never itself or its copies."""
        record = self.store.get_source(source_id)
        if record is None:
            return []
        canonical = record.duplicate_of or source_id
        family = {source_id, canonical, *(a.id for a in record.alternates)}
        canonical_record = self.sources.get(canonical)
        if canonical_record is not None:
            family.update(a.id for a in canonical_record.alternates)
        vector = self._vector_of([canonical])
        if vector is None:
            return []
        vectors = self._pages.vectors
        scores = vectors.matrix @ vector
        ranked = (vectors.ids[i] for i in np.argsort(-scores))
        nearest = list(itertools.islice((s for s in ranked if s not in family), k))
        return [(self.sources[s], float(scores[vectors.rows[s]])) for s in nearest]

    def related_projects(self, slug: str, k: int = 5) -> list[tuple[ProjectView, float, str]]:
        """Projects like this one, best first, each with a short reason.

        Score: cosine similarity of the two projects' sources' mean embeddings, plus
        ``SHARED_THEME`` per shared theme, ``SHARED_COUNCIL`` per shared lead council and
        ``SHARED_SOURCE`` per source naming both.
        """
        project = self._projects.get(slug)
        if project is None:
            return []
        mine = self._vector_of(project.sources)
        labels = theme_labels()
        out = []
        for other in self._projects.values():
            if other.slug == slug:
                continue
            themes_shared = [t for t in project.themes if t in other.themes]
            councils_shared = [c for c in project.councils if c in other.councils]
            common = set(project.sources) & set(other.sources)
            theirs = self._vector_of(other.sources)
            similarity = float(mine @ theirs) if mine is not None and theirs is not None else 0.0
            if not (themes_shared or councils_shared or common) and similarity <= 0:
                continue
            score = (similarity + SHARED_THEME * len(themes_shared) + SHARED_COUNCIL * len(councils_shared)
                     + SHARED_SOURCE * len(common))
            same_sources = bool(common) and set(project.sources) == set(other.sources)
            out.append((other, round(score, 4), _reason(themes_shared, councils_shared, len(common),
                                                        0.0 if same_sources else similarity, labels)))
        out.sort(key=lambda item: (-item[1], item[0].name))
        return out[:k]


def _reason(themes_shared: list[str], councils: list[str], common: int, similarity: float,
            labels: dict[str, str]) -> str:
    parts = []
    if themes_shared:
        parts.append("shares: " + _and([labels.get(t, t).lower() for t in themes_shared]))
    if councils:
        parts.append("councils: " + _and(councils))
    if common:
        parts.append(f"{common} source{'' if common == 1 else 's'} in common")
    if similarity > 0:
        parts.append(_alike(similarity))
    return "; ".join(parts)


# Cosine similarity of two projects' sources' mean vectors, in words (the number is never shown on a page).
ALIKE_WORDS = ((0.8, "sources written about much the same things"), (0.6, "sources on similar subjects"),
               (0.0, "sources with a little in common"))


def _alike(similarity: float) -> str:
    return next(words for floor, words in ALIKE_WORDS if similarity >= floor)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_date_key = date_key
