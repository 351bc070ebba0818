"""Names in a query offered as filters a person can take (issue 24, deliverable 3).

"Family Safeguarding Hertfordshire" names a council (offered as the council a source is about, or, where no
source is about it, as one its text mentions); "inadequate councils using Signs of Safety" a grade and a
practice model; "care leavers 2019" a year. Each name found in the query's words — a council or a project
from the generation's own facet labels (the catalogue and the council list), an Ofsted grade word, a year some
source has — becomes a one-click filter on the results page ("Only sources about Hertfordshire") and
``suggested_filters`` in the API. They are offers, not a ranking signal: nothing here changes what a search
finds or its order (a ranking use waits on leave-one-out figures saying it helps).

Usage::

    suggested_filters("inadequate councils using signs of safety", table, chosen)
    # [SuggestedFilter("judgement", "overall-effectiveness-inadequate", "Only councils judged inadequate overall"),
    #  SuggestedFilter("project", "signs-of-safety", "Only sources about Signs of Safety")]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

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


def suggested_filters(query: str, table: FacetTable, chosen: FacetSelection | None = None,
                      project_names: Mapping[str, Iterable[str]] | None = None) -> list[SuggestedFilter]:
    """The filters the query's words name that the search has not already taken, longest names first (a
    council named within a project's name, "North Yorkshire" in "North Yorkshire's No Wrong Door", is offered
    with the project). ``project_names``: each project's aliases in the catalogue."""
    words = word_tokens(query)
    taken = chosen.values if chosen else {}
    found: list[tuple[int, SuggestedFilter]] = []
    councils = {word_tokens(table.label(f, v)) for f in ("council", "mentions") for v in table.postings.get(f, {})}
    about = table.postings.get("council", {})
    for facet in ("project", "council", "mentions"):
        for value in table.postings.get(facet, {}):
            label = table.label(facet, value)
            if value in taken.get(facet, ()) or (facet == "mentions" and (value in about or
                                                                          value in taken.get("council", ()))):
                continue
            aliases = (project_names or {}).get(value, ()) if facet == "project" else ()
            names = [n for n in names_of(label, aliases) if facet != "project" or n not in councils]
            longest = max((len(n) for n in names if _contains(words, n)), default=0)
            if longest:
                text = f"Only sources that mention {label}" if facet == "mentions" else f"Only sources about {label}"
                found.append((longest, SuggestedFilter(facet, value, text)))
    for grade in GRADES:
        slug = judgement_slug("overall_effectiveness", grade)
        if _contains(words, word_tokens(grade)) and slug in table.postings.get("judgement", {}) \
                and slug not in taken.get("judgement", ()):
            found.append((len(grade), SuggestedFilter("judgement", slug, f"Only councils judged {grade} overall")))
    for word in words:
        if _YEAR.match(word) and word in table.postings.get("year", {}) and word not in taken.get("year", ()):
            found.append((1, SuggestedFilter("year", word, f"Only sources from {word}")))
    found.sort(key=lambda item: -item[0])
    out: list[SuggestedFilter] = []
    for _, suggestion in found:
        if all(s.value != suggestion.value for s in out):
            out.append(suggestion)
    return out[:MAX_SUGGESTED]
