"""Names in a query offered as filters a person can take (issue 24, deliverable 3).

"Family Safeguarding Hertfordshire" names a council (offered as the council a source is about, or, where no
source is about it, as one its text mentions); "inadequate councils using Signs of Safety" a grade and a
practice model; "care leavers 2019" a year. Each name found in the query's words — a council or a project
from the generation's own facet labels (the catalogue and the council list), an Ofsted grade word, a year some
source has — becomes a one-click filter on the results page ("Only sources about Hertfordshire") and
``suggested_filters`` in the API. They are offers, never applied; the one ranking use is a project named
(``named_boost``, chosen on some collections and measured on a held-out one: docs/ranking.md).

Usage::

    names = FilterNames.of(table, aliases)                 # once per generation
    offered(names.named("inadequate councils using signs of safety"), chosen)
    # [SuggestedFilter("judgement", "overall-effectiveness-inadequate", "Only councils judged inadequate overall"),
    #  SuggestedFilter("project", "signs-of-safety", "Only sources about Signs of Safety")]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from index.records import GRADES, judgement_slug
from index.search.facets import FacetSelection, FacetTable
from index.search.query import word_tokens
from index.search.results import SuggestedFilter

# Words that end a project's name without naming it ("Family Safeguarding model").
GENERIC = frozenset({"model", "programme", "program", "pathfinder", "approach", "project", "initiative",
                     "service", "services", "scheme", "pilot"})
# At most this many offered: the page shows them in one line.
MAX_SUGGESTED = 4
_YEAR = re.compile(r"^(19|20)\d\d$")


def _contains(words: tuple[str, ...], name: tuple[str, ...]) -> bool:
    size = len(name)
    return bool(name) and any(words[i : i + size] == name for i in range(len(words) - size + 1))


def names_of(label: str, aliases: Iterable[str] = ()) -> list[tuple[str, ...]]:
    """The word sequences that name a project: its label and aliases, each also without a trailing generic word
    ("Family Safeguarding model" → "family safeguarding")."""
    out: list[tuple[str, ...]] = []
    for name in (label, *aliases):
        words = word_tokens(name)
        if words:
            out.append(words)
        while len(words) > 1 and words[-1] in GENERIC:
            words = words[:-1]
            out.append(words)
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class FilterNames:
    """Every name a filter value goes by in one generation, read once (per searcher, not per query): councils
    (about, or only mentioned), catalogue projects by their names and aliases (a name that is a council's is the
    council's), grades and years with a source."""

    names: tuple[tuple[str, str, str, tuple[tuple[str, ...], ...]], ...]  # (facet, value, text, names)
    grades: tuple[tuple[str, str, tuple[str, ...]], ...]  # (judgement slug, grade, its words)
    years: frozenset[str]

    @classmethod
    def of(cls, table: FacetTable, project_names: Mapping[str, Iterable[str]] | None = None) -> FilterNames:
        councils = {word_tokens(table.label(f, v)) for f in ("council", "mentions") for v in table.postings.get(f, {})}
        about = table.postings.get("council", {})
        names = []
        for facet in ("project", "council", "mentions"):
            for value in table.postings.get(facet, {}):
                if facet == "mentions" and value in about:
                    continue
                label = table.label(facet, value)
                aliases = (project_names or {}).get(value, ()) if facet == "project" else ()
                text = f"Only sources that mention {label}" if facet == "mentions" else f"Only sources about {label}"
                names.append((facet, value, text, tuple(n for n in names_of(label, aliases)
                                                        if facet != "project" or n not in councils)))
        judged = table.postings.get("judgement", {})
        grades = tuple((slug, grade, word_tokens(grade)) for grade in GRADES
                       if (slug := judgement_slug("overall_effectiveness", grade)) in judged)
        return cls(tuple(names), grades, frozenset(y for y in table.postings.get("year", {}) if _YEAR.match(y)))

    def named(self, query: str) -> list[SuggestedFilter]:
        """Every filter the query's words name, longest names first (a council named within a project's name,
        "North Yorkshire" in "North Yorkshire's No Wrong Door", comes after the project)."""
        words = word_tokens(query)
        found: list[tuple[int, SuggestedFilter]] = []
        for facet, value, text, names in self.names:
            longest = max((len(n) for n in names if _contains(words, n)), default=0)
            if longest:
                found.append((longest, SuggestedFilter(facet, value, text)))
        for slug, grade, tokens in self.grades:
            if _contains(words, tokens):
                found.append((len(grade), SuggestedFilter("judgement", slug, f"Only councils judged {grade} overall")))
        found += [(1, SuggestedFilter("year", w, f"Only sources from {w}")) for w in words if w in self.years]
        found.sort(key=lambda item: -item[0])
        out: list[SuggestedFilter] = []
        for _, suggestion in found:
            if all(s.value != suggestion.value for s in out):
                out.append(suggestion)
        return out


def offered(named: Iterable[SuggestedFilter], chosen: FacetSelection | None = None) -> list[SuggestedFilter]:
    """The first ``MAX_SUGGESTED`` of ``named`` that the search has not already taken (a council it is about
    taken, its "mentions" is not offered either)."""
    taken = chosen.values if chosen else {}
    kept = [f for f in named if f.value not in taken.get(f.facet, ())
            and not (f.facet == "mentions" and f.value in taken.get("council", ()))]
    return kept[:MAX_SUGGESTED]

