"""Related projects with the reasons a person would give (issue 26).

A project page used to list the projects whose sources read alike, each "sources written about much the
same things": Dorset's Harbour, which its inspection calls *based on* No Wrong Door, came third without a
word of it. Now a project is related only for a reason that can be checked, and the reasons say which:

1. the catalogue says one is **based on** or **a version of** the other (``based_on``, ``version_of`` in
   ``corpus/projects.yaml``, each from a source);
2. inspection reports say the **same councils use** both ("used by the same councils (Dorset, Stockport)");
3. the catalogue gives them the **same lead council**;
4. the catalogue gives them the **same theme** ("same theme: adolescents and edge of care");
5. sources **name both**.

They are ranked in that order of weight; projects with the same reasons keep the order of how alike their
sources read (``Browse.related_projects``), which is never shown as a reason.

Usage::

    related_projects(searcher.browse, searcher.generation.projects(), "dorset-harbour")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.browse.catalogue import Browse, ProjectView
from index.browse.taxonomy import theme_labels
from index.records import Project

# How much each reason weighs (a catalogue relation outweighs everything else).
RELATION, SHARED_USER, SHARED_LEAD, SHARED_THEME, SHARED_SOURCE = 10.0, 2.0, 1.0, 0.5, 0.2
# Sources in common count up to this many.
MAX_COMMON = 5


@dataclass(frozen=True)
class RelatedProject:
    project: ProjectView
    score: float
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _relations(catalogue: Sequence[Project]) -> dict[str, dict[str, set[str]]]:
    """slug → {"based_on": {slugs}, "version_of": {slugs}} from the generation's catalogue."""
    return {p.slug: {"based_on": set(p.based_on), "version_of": set(p.version_of)} for p in catalogue}


def related_projects(browse: Browse, catalogue: Sequence[Project], slug: str,
                     k: int = 5) -> list[RelatedProject]:
    """The ``k`` projects most related to ``slug``, each with its reasons (see the module docstring)."""
    project = browse.project(slug)
    if project is None:
        return []
    relations = _relations(catalogue)
    mine = relations.get(slug, {"based_on": set(), "version_of": set()})
    labels = theme_labels()
    users = {p.slug: {u.name for u in browse.project_councils(p.slug) if u.uses} for p in browse.projects()}
    alike = {other.slug: score for other, score, _ in browse.related_projects(slug, k=len(browse.projects()))}
    own_sources = set(project.sources)
    out = []
    for other in browse.projects():
        if other.slug == slug:
            continue
        theirs = relations.get(other.slug, {"based_on": set(), "version_of": set()})
        reasons: list[str] = []
        score = 0.0
        if other.slug in mine["based_on"]:
            reasons.append(f"{project.name} is based on it")
        if slug in theirs["based_on"]:
            reasons.append(f"based on {project.name}")
        if other.slug in mine["version_of"]:
            reasons.append(f"{project.name} is a version of it")
        if slug in theirs["version_of"]:
            reasons.append(f"a version of {project.name}")
        score += RELATION * len(reasons)
        shared_users = sorted(users.get(slug, set()) & users.get(other.slug, set()))
        if shared_users:
            council_word = "council" if len(shared_users) == 1 else "councils"
            reasons.append(f"used by the same {council_word} ({_and(shared_users)}), their inspections say")
            score += SHARED_USER * len(shared_users)
        leads = [c for c in project.councils if c in other.councils]
        if leads:
            reasons.append(f"led by the same council ({_and(leads)})")
            score += SHARED_LEAD * len(leads)
        themes = [t for t in project.themes if t in other.themes]
        if themes:
            reasons.append(f"same theme{'' if len(themes) == 1 else 's'}: "
                           f"{_and([labels.get(t, t).lower() for t in themes])}")
            score += SHARED_THEME * len(themes)
        common = len(own_sources & set(other.sources))
        if common:
            reasons.append(f"named together in {common} source{'' if common == 1 else 's'}")
            score += SHARED_SOURCE * min(common, MAX_COMMON)
        if reasons:
            # How alike their sources read only orders projects with the same reasons.
            out.append(RelatedProject(other, round(score + 0.01 * alike.get(other.slug, 0.0), 4), tuple(reasons)))
    out.sort(key=lambda item: (-item.score, item.project.name))
    return out[:k]
