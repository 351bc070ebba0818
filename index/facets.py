"""Search facets: type, year, council, theme and project, with counts, kept in the URL.

Each facet value has a slug (what the URL and the JSON carry, e.g. ``council=hackney``) and a
label (what a page shows, "Hackney"). Values within one facet widen (OR); facets narrow (AND).

Usage::

    table = FacetTable.from_rows(store.facet_rows())
    selection = FacetSelection.parse({"council": ["hackney"], "year": ["2014"]})
    allowed = table.matching(selection)          # source ids, or None when nothing is selected
    table.counts(source_ids_of_the_results)      # {"type": {"article": 3}, "council": {...}, ...}
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from index.errors import QueryError
from index.params import checked_value, checked_year
from index.records import FacetRow
from index.taxonomy import theme_labels

FACETS = ("type", "year", "council", "theme", "project", "judgement")
# Most values a user may select in one facet (each is a URL parameter).
MAX_VALUES = 20


def slugify(text: str) -> str:
    """'Richmond upon Thames' → 'richmond-upon-thames'; 'Bath & North East Somerset' → 'bath-and-north-east-somerset'.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = ascii_text.replace("&", " and ").replace("'", "").replace("’", "")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@dataclass(frozen=True)
class FacetSelection:
    """The facet values a user chose: ``{facet: (slug, ...)}``; empty facets are left out."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(self.values.values())

    @classmethod
    def parse(cls, raw: Mapping[str, Sequence[str]]) -> FacetSelection:
        """Check what a user sent. A well-formed value that no source has is kept: it selects
        nothing (an old link after a re-index gives "0 results" and a way to remove the filter).

        :raises QueryError: for too many values, an over-long value or a malformed year, naming the parameter.
        """
        chosen: dict[str, tuple[str, ...]] = {}
        for facet in FACETS:
            sent = list(raw.get(facet, ()))
            if len(sent) > MAX_VALUES:
                raise QueryError(f"{facet} can be given at most {MAX_VALUES} times, got {len(sent)}.")
            values = tuple(dict.fromkeys(checked_value(facet, v).strip().lower() for v in sent if v and v.strip()))
            if not values:
                continue
            if facet == "year":
                for value in values:
                    checked_year(facet, value)
            chosen[facet] = values
        return cls(chosen)

    def as_args(self) -> list[tuple[str, str]]:
        """``[(facet, slug), ...]`` for building URLs."""
        return [(facet, value) for facet, values in self.values.items() for value in values]

    def without(self, facet: str, value: str) -> FacetSelection:
        remaining = {f: tuple(v for v in vs if not (f == facet and v == value)) for f, vs in self.values.items()}
        return FacetSelection({f: vs for f, vs in remaining.items() if vs})



@dataclass
class FacetTable:
    """Every source's facet values (slugs), and the label of each slug, for one generation."""

    by_source: dict[str, dict[str, tuple[str, ...]]]
    labels: dict[str, dict[str, str]]
    # facet → value → source ids: a selection is unions and intersections of these sets.
    postings: dict[str, dict[str, set[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.postings:
            self.postings = {facet: {} for facet in FACETS}
            for source_id, values in self.by_source.items():
                for facet, slugs in values.items():
                    for slug in slugs:
                        self.postings[facet].setdefault(slug, set()).add(source_id)

    @classmethod
    def from_rows(cls, rows: Iterable[FacetRow]) -> FacetTable:
        """From the store's facet rows (councils are names, themes ids, projects ``(slug, name)``)."""
        themes = theme_labels()
        by_source: dict[str, dict[str, tuple[str, ...]]] = {}
        labels: dict[str, dict[str, str]] = {facet: {} for facet in FACETS}
        for row in rows:
            values: dict[str, list[tuple[str, str]]] = {
                "type": [(row.type, str(row.type).capitalize())] if row.type else [],
                "year": [(row.date[:4], row.date[:4])] if row.date else [],
                "council": [(slugify(name), name) for name in row.councils],
                "theme": [(theme_id, themes.get(theme_id, theme_id)) for theme_id in row.themes],
                "project": list(row.projects),
                "judgement": list(row.judgements),
            }
            by_source[row.id] = {facet: tuple(slug for slug, _ in pairs) for facet, pairs in values.items()}
            for facet, pairs in values.items():
                labels[facet].update(pairs)
        return cls(by_source, labels)

    def matching(self, selection: FacetSelection) -> set[str] | None:
        """Source ids having, for every selected facet, at least one selected value; None if nothing is selected."""
        if not selection:
            return None
        allowed: set[str] | None = None
        for facet, chosen in selection.values.items():
            having = set().union(*(self.postings.get(facet, {}).get(v, set()) for v in chosen))
            allowed = having if allowed is None else allowed & having
        return allowed or set()

    def counts(self, source_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """``{facet: {slug: number of the given sources with it}}``, most common first (years newest first)."""
        counters: dict[str, Counter[str]] = {facet: Counter() for facet in FACETS}
        for source_id in source_ids:
            for facet, values in self.by_source.get(source_id, {}).items():
                counters[facet].update(values)
        out = {}
        for facet, counter in counters.items():
            if facet == "year":
                out[facet] = dict(sorted(counter.items(), reverse=True))
            else:
                out[facet] = dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))
        return out

    def label(self, facet: str, slug: str) -> str:
        return self.labels.get(facet, {}).get(slug, slug)
