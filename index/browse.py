"""Browsing without a query: projects, councils and themes, related documents and projects, and
publications per year. Built once per generation (generations never change) from its sources,
their tags and project links, and its passage vectors.

Usage::

    browse = Browse(generation)
    browse.projects()                     # [ProjectView, ...]
    browse.related_projects("signs-of-safety")
    browse.related_documents(source_id)   # nearest sources by embedding
    browse.by_year(source_ids)            # {year: {theme_id: count}}
    browse.project_councils("north-yorkshire-no-wrong-door")  # [CouncilUse, ...]: who its inspections say uses it
    browse.inspections("North Yorkshire")  # its inspection reports, oldest first
    browse.neighbours("dorset")            # [Neighbour, ...]: its statistical neighbours, judged and what they use
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.facets import slugify
from index.generations import Generation
from index.records import ProjectMention, SourceRecord
from index.taxonomy import Theme, theme_labels, themes

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
    sources: list[str]
    projects: list[str]  # slugs of projects it leads
    region: str = ""
    type: str = ""
    statistical_neighbours: list[str] = field(default_factory=list)  # names, Ofsted's order
    ofsted: dict[str, str] = field(default_factory=dict)  # its latest inspection in Ofsted's overview

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


class Browse:
    """The browse views of one generation."""

    def __init__(self, generation: Generation) -> None:
        store = generation.store
        self.store = store
        ids = [row.id for row in store.facet_rows()]
        records = store.get_sources(ids)
        # Newest first, undated last, then by title: the order of every list of sources here.
        self.sources: dict[str, SourceRecord] = dict(sorted(
            records.items(), key=lambda item: (-_date_key(item[1].date), item[1].title.lower())))
        self._projects = {p["slug"]: ProjectView(
            slug=p["slug"], name=p["name"], description=p["description"], councils=list(p["councils"]),
            partners=list(p["partners"]), themes=list(p["themes"]), years=list(p["years"]), links=list(p["links"]),
            aliases=list(p["aliases"])) for p in generation.projects()}
        councils: dict[str, str] = {}
        self._inspections: dict[str, list[SourceRecord]] = defaultdict(list)
        council_sources: dict[str, list[str]] = defaultdict(list)
        theme_sources: dict[str, list[str]] = defaultdict(list)
        for source_id, record in self.sources.items():
            for mention in record.projects:
                project = self._projects.get(mention.slug)
                if project is not None:
                    project.sources.append(source_id)
            for name in record.council_names:
                councils[slugify(name)] = name
                council_sources[slugify(name)].append(source_id)
            for theme_id in record.theme_ids:
                theme_sources[theme_id].append(source_id)
            if record.inspection is not None and not record.duplicate_of:
                inspected = record.inspection.council
                councils.setdefault(slugify(inspected), inspected)
                self._inspections[inspected].append(record)
                if source_id not in council_sources[slugify(inspected)]:
                    council_sources[slugify(inspected)].append(source_id)
        for reports in self._inspections.values():
            reports.sort(key=lambda r: _date_key(r.inspection.published if r.inspection else None))
        leads: dict[str, list[str]] = defaultdict(list)
        for project in self._projects.values():
            for name in project.councils:
                councils.setdefault(slugify(name), name)
                leads[slugify(name)].append(project.slug)
        details = generation.councils()
        self._details = details
        self._councils = {}
        for slug, name in sorted(councils.items(), key=lambda item: item[1].lower()):
            about = details.get(name, {})
            self._councils[slug] = CouncilView(slug, name, council_sources.get(slug, []), leads.get(slug, []),
                                               about.get("region", ""), about.get("type", ""),
                                               list(about.get("statistical_neighbours", [])),
                                               dict(about.get("ofsted", {})))
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
        return list(self._inspections.get(council, []))

    def council_projects(self, council: str) -> dict[str, list[tuple[SourceRecord, ProjectMention]]]:
        """``{project slug: [(report, mention), ...]}`` for the projects the council's inspection reports name,
        newest report first; a project its reports say it uses lists only the reports saying so."""
        found: dict[str, list[tuple[SourceRecord, ProjectMention]]] = defaultdict(list)
        for record in reversed(self._inspections.get(council, [])):
            for mention in record.projects:
                if mention.slug in self._projects:
                    found[mention.slug].append((record, mention))
        return {slug: ([m for m in pairs if m[1].relation == "uses"] or pairs) for slug, pairs in found.items()}

    def uses(self, council: str) -> list[str]:
        """Slugs of the projects the council's inspection reports say it uses, by project name."""
        return [p.slug for p in self.projects()
                if any(m.relation == "uses" for _, m in self.council_projects(council).get(p.slug, []))]

    def project_councils(self, slug: str) -> list[CouncilUse]:
        """The councils whose inspection reports name the project: those said to use it first, then those
        whose reports only mention it; alphabetical within each."""
        out = []
        for council in sorted(self._inspections, key=str.lower):
            reports = self.council_projects(council).get(slug)
            if reports:
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
            reports = self._inspections.get(name, [])
            latest = reports[-1] if reports else None
            about = self._details.get(name, {}).get("ofsted", {})
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
        table: dict[str, Counter] = defaultdict(Counter)
        for source_id in source_ids:
            record = self.sources.get(source_id)
            if record is None or not record.date:
                continue
            year = record.date[:4]
            for theme_id in record.theme_ids or ("other",):
                table[year][theme_id] += 1
        return {year: dict(table[year]) for year in sorted(table)}

    # -- similarity ------------------------------------------------------------------------------

    @functools.cached_property
    def _centroids(self) -> tuple[list[str], np.ndarray]:
        """Each source's mean passage vector, normalised (loaded on first use)."""
        sums: dict[str, np.ndarray] = {}
        counts: Counter = Counter()
        for source_id, vector in self.store.passage_vectors():
            if source_id in self.sources:
                sums[source_id] = sums.get(source_id, 0) + vector
                counts[source_id] += 1
        ids = [s for s in self.sources if s in sums]
        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.stack([sums[s] / counts[s] for s in ids]).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
        return ids, matrix

    @functools.cached_property
    def _centroid_rows(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self._centroids[0])}

    def _vector_of(self, source_ids: Iterable[str]) -> np.ndarray | None:
        matrix = self._centroids[1]
        index = self._centroid_rows
        rows = [index[s] for s in source_ids if s in index]
        if not rows:
            return None
        vector = matrix[rows].mean(axis=0)
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
        ids, matrix = self._centroids
        scores = matrix @ vector
        ranked = [(ids[i], float(scores[i])) for i in np.argsort(-scores)]
        return [(self.sources[s], score) for s, score in ranked if s not in family][:k]

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
        parts.append(f"sources alike ({similarity:.2f})")
    return "; ".join(parts)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _date_key(date: str | None) -> int:
    if not date:
        return 0
    return int(date[:10].replace("-", "").ljust(8, "0"))
