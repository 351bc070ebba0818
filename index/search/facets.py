"""Search facets: type, year, council, theme and project, with counts, kept in the URL.

Each facet value has a slug (what the URL and the JSON carry, e.g. ``council=hackney``) and a
label (what a page shows, "Hackney"). Values within one facet widen (OR); facets narrow (AND).
Undated sources have the year ``unknown`` ("Date not known"), so that they can be counted and chosen.
A year range (``from``/``to``, either open) narrows like a facet; undated sources are outside every range.

Usage::

    table = FacetTable.from_rows(store.facet_rows())
    selection = FacetSelection.parse({"council": ["hackney"], "year": ["2014"]}, year_from="2010")  # about Hackney
    allowed = table.matching(selection)          # source ids, or None when nothing is selected
    table.counts(source_ids_of_the_results)      # {"type": {"article": 3}, "council": {...}, ...}
    # Disjunctive counts: each selected facet's values counted over the results without that facet's own choice.
    table.counts(results, lifted={"type": results_without_the_type_filter})
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, repeat

from index.browse.taxonomy import theme_labels
from index.errors import QueryError, UnknownValueError
from index.params import checked_value, checked_year, checked_year_range
from index.records import GRADES, JUDGEMENT_AREAS, SOURCE_TYPES, FacetRow, judgement_slug

# "council" is the council a source is *about* (inspected, publishing, or named in the title); "mentions" every
# council its text names (issue 26: ticking North Yorkshire no longer finds Dorset's inspection, which names it).
FACETS = ("type", "year", "council", "mentions", "theme", "project", "judgement")
# Most values a user may select in one facet (each is a URL parameter).
MAX_VALUES = 20
# The year of an undated source: a value of the year facet (it is not stored with the source).
UNKNOWN_YEAR = "unknown"
UNKNOWN_YEAR_LABEL = "Date not known"


def slugify(text: str) -> str:
    """'Richmond upon Thames' → 'richmond-upon-thames'; 'Bath & North East Somerset' → 'bath-and-north-east-somerset'.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = ascii_text.replace("&", " and ").replace("'", "").replace("’", "")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@dataclass(frozen=True)
class FacetSelection:
    """The facet values a user chose: ``{facet: (slug, ...)}``; empty facets are left out. ``year_from`` and
    ``year_to`` bound the year of publication (inclusive; None is open)."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None

    def __bool__(self) -> bool:
        return any(self.values.values()) or self.has_range

    @property
    def has_range(self) -> bool:
        return self.year_from is not None or self.year_to is not None

    @classmethod
    def parse(cls, raw: Mapping[str, Sequence[str]], year_from: str | None = None,
              year_to: str | None = None) -> FacetSelection:
        """Check what a user sent: the form of each value (whether a source has it is
        :meth:`FacetTable.check_known`'s to say).

        :raises QueryError: for too many values, an over-long value, a malformed year or a year range
            that ends before it starts, naming the parameter.
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
                    if value != UNKNOWN_YEAR:
                        checked_year(facet, value)
            chosen[facet] = values
        return cls(chosen, *checked_year_range(year_from, year_to))

    def as_args(self) -> list[tuple[str, str]]:
        """``[(facet, slug), ...]`` for building URLs (the year range is :meth:`range_args`)."""
        return [(facet, value) for facet, values in self.values.items() for value in values]

    def url_args(self) -> dict[str, int | list[str]]:
        """The selection as URL parameters: the year range, then each chosen facet's values (repeated)."""
        args: dict[str, int | list[str]] = dict(self.range_args())
        args.update({facet: list(self.values[facet]) for facet in FACETS if self.values.get(facet)})
        return args

    def range_args(self) -> dict[str, int]:
        """``{"from": year, "to": year}``, for the bounds that are set."""
        bounds = {"from": self.year_from, "to": self.year_to}
        return {name: year for name, year in bounds.items() if year is not None}

    def without(self, facet: str, value: str | None = None) -> FacetSelection:
        """This selection less one value of a facet, or less the whole facet when ``value`` is None;
        ``without("range")`` drops the year range."""
        if facet == "range":
            return FacetSelection(self.values)
        remaining = {f: tuple(v for v in vs if not (f == facet and (value is None or v == value)))
                     for f, vs in self.values.items()}
        return FacetSelection({f: vs for f, vs in remaining.items() if vs}, self.year_from, self.year_to)



@dataclass
class FacetTable:
    """Every source's facet values (slugs), and the label of each slug, for one generation."""

    by_source: dict[str, dict[str, tuple[str, ...]]]
    labels: dict[str, dict[str, str]]
    # facet → value → source ids: a selection is unions and intersections of these sets.
    postings: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # facet → source id → its values as counted (an undated source's year is "Date not known"): counting a
    # facet over the whole match is then one C-level pass (map, chain, Counter), not a Python loop per source.
    counted: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.counted = {facet: {source_id: values.get(facet, ()) or ((UNKNOWN_YEAR,) if facet == "year" else ())
                                for source_id, values in self.by_source.items()} for facet in FACETS}
        if not self.postings:
            self.postings = {facet: {} for facet in FACETS}
            for source_id, values in self.by_source.items():
                for facet, slugs in values.items():
                    for slug in slugs:
                        self.postings[facet].setdefault(slug, set()).add(source_id)
            undated = {source_id for source_id, values in self.by_source.items() if not values.get("year")}
            if undated:
                self.postings["year"][UNKNOWN_YEAR] = undated

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
                "council": [(slugify(name), name) for name in row.about],
                "mentions": [(slugify(name), name) for name in row.councils],
                "theme": [(theme_id, themes.get(theme_id, theme_id)) for theme_id in row.themes],
                "project": list(row.projects),
                "judgement": list(row.judgements),
            }
            by_source[row.id] = {facet: tuple(slug for slug, _ in pairs) for facet, pairs in values.items()}
            for facet, pairs in values.items():
                labels[facet].update(pairs)
        return cls(by_source, labels)

    def matching(self, selection: FacetSelection) -> set[str] | None:
        """Source ids having, for every selected facet, at least one selected value, and a year within the
        range; None if nothing is selected."""
        if not selection:
            return None
        allowed: set[str] | None = None
        for facet, chosen in selection.values.items():
            having = set().union(*(self.postings.get(facet, {}).get(v, set()) for v in chosen))
            allowed = having if allowed is None else allowed & having
        if selection.has_range:
            low = selection.year_from if selection.year_from is not None else 0
            high = selection.year_to if selection.year_to is not None else 9999
            within = set().union(*(ids for year, ids in self.postings.get("year", {}).items()
                                   if year.isdigit() and low <= int(year) <= high))
            allowed = within if allowed is None else allowed & within
        return allowed or set()

    def values(self, source_id: str, facet: str) -> tuple[str, ...]:
        """A source's slugs for one facet; an undated source's year is :data:`UNKNOWN_YEAR`."""
        found = self.by_source.get(source_id, {}).get(facet, ())
        if facet == "year" and not found and source_id in self.by_source:
            return (UNKNOWN_YEAR,)
        return found

    def counts(self, source_ids: Iterable[str],
               lifted: Mapping[str, Iterable[str]] | None = None) -> dict[str, dict[str, int]]:
        """``{facet: {slug: number of the given sources with it}}``, most common first (years newest first,
        then "Date not known").

        ``lifted`` gives, for a facet the user chose values of, the sources found without that facet's own
        choice (the other facets' still applied): that facet's values are counted over those, so that its
        unticked values stay listed with the number a tick would add (the usual "disjunctive" facet).
        """
        lifted = lifted or {}
        ids = frozenset(source_ids)
        out = {}
        for facet in FACETS:
            counter = self._counted(facet, lifted.get(facet, ids))
            if facet == "year":
                # "Date not known" after every year, as undated sources come last in every list.
                years = sorted(counter, key=lambda year: (year != UNKNOWN_YEAR, year), reverse=True)
                out[facet] = {year: counter[year] for year in years}
            else:
                out[facet] = dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))
        return out

    @cached_property
    def totals(self) -> dict[str, Counter[str]]:
        """Each facet's counts over every source (for counting a match that is most of them by its complement)."""
        return {facet: Counter(chain.from_iterable(values.values())) for facet, values in self.counted.items()}

    def _counted(self, facet: str, source_ids: Iterable[str]) -> Counter[str]:
        """One facet's value counts over ``source_ids``. A match holding most sources (a common word in a large
        index: every one of 33,000 sources at a million passages) is counted as every source's totals less its
        complement's, so the cost follows the smaller side."""
        values_of = self.counted.get(facet, {})
        ids = source_ids if isinstance(source_ids, (set, frozenset)) else frozenset(source_ids)
        if len(ids) * 2 <= len(values_of):
            return Counter(chain.from_iterable(map(values_of.get, ids, repeat(()))))
        counter = self.totals.get(facet, Counter()).copy()
        counter.subtract(chain.from_iterable(values_of[s] for s in values_of.keys() - ids))
        return +counter  # values no source of the match has drop out

    def check_known(self, selection: FacetSelection) -> None:
        """Refuse a chosen value that no source of this generation has (a mistyped or made-up value would
        otherwise read as "nothing matched").

        :raises UnknownValueError: naming the parameter, the value and the values it may take, most common first.
        """
        for facet, chosen in selection.values.items():
            if facet == "year":  # any well-formed year is a year (FacetSelection.parse checks the form)
                continue
            postings = self.postings.get(facet, {})
            for value in chosen:
                if value not in postings and value not in self.valid(facet):
                    known = sorted(postings, key=lambda v: (-len(postings[v]), v))
                    raise UnknownValueError(facet, value, [(v, self.label(facet, v)) for v in known],
                                            "council" if facet == "mentions" else facet)

    def valid(self, facet: str) -> set[str]:
        """Values of ``facet`` that are real though no source of this generation may have them: every type, every
        theme, every area and grade of an inspection; a council any source is about or names
        (``council=hackney`` where only Dorset's report names Hackney finds nothing, truly; ``council=narnia`` is
        a mistake)."""
        if facet == "type":
            return set(SOURCE_TYPES)
        if facet == "theme":
            return set(theme_labels())
        if facet == "judgement":
            return {judgement_slug(area, grade) for area in JUDGEMENT_AREAS for grade in GRADES}
        if facet in ("council", "mentions"):
            return set(self.postings.get("council", {})) | set(self.postings.get("mentions", {}))
        return set()

    def lifted_selections(self, selection: FacetSelection) -> dict[str, FacetSelection]:
        """For each facet the user chose values of, the selection without that facet (what its counts are over)."""
        return {facet: selection.without(facet) for facet, chosen in selection.values.items() if chosen}

    def label(self, facet: str, slug: str) -> str:
        if facet == "year" and slug == UNKNOWN_YEAR:
            return UNKNOWN_YEAR_LABEL
        return self.labels.get(facet, {}).get(slug, slug)
