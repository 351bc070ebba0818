"""Facet values, selection and counts (no model), then facets through the Searcher (real model)."""

from __future__ import annotations

import pytest

from index.errors import QueryError
from index.records import FacetRow
from index.search.facets import FacetSelection, FacetTable, slugify

ROWS = [
    FacetRow("a", "report", "2016-04-26", ("Hackney", "Richmond upon Thames"), ("workforce",),
             (("reclaiming-social-work", "Reclaiming Social Work"),), about=("Hackney",)),
    FacetRow("b", "blog", "2014-02-12", ("Hackney",), (), ()),  # names Hackney, is about no council
    FacetRow("c", "blog", None, (), ("workforce", "early-help"), ()),
]


@pytest.mark.unit
def test_slugs():
    assert slugify("Richmond upon Thames") == "richmond-upon-thames"
    assert slugify("Bath & North East Somerset") == "bath-and-north-east-somerset"
    assert slugify("King’s Lynn") == "kings-lynn"
    assert slugify("St. Helens") == "st-helens"


@pytest.mark.unit
def test_counts_and_labels():
    table = FacetTable.from_rows(ROWS)
    counts = table.counts(["a", "b", "c"])
    assert counts["type"] == {"blog": 2, "report": 1}
    # Undated sources are counted as "Date not known", after every year.
    assert counts["year"] == {"2016": 1, "2014": 1, "unknown": 1} and list(counts["year"])[-1] == "unknown"
    assert table.label("year", "unknown") == "Date not known"
    assert counts["council"] == {"hackney": 1}  # about
    assert counts["mentions"] == {"hackney": 2, "richmond-upon-thames": 1}
    assert counts["theme"] == {"workforce": 2, "early-help": 1}
    assert counts["project"] == {"reclaiming-social-work": 1}
    assert table.label("mentions", "richmond-upon-thames") == "Richmond upon Thames"
    assert table.label("theme", "early-help") == "Early help"


@pytest.mark.unit
def test_values_widen_and_facets_narrow():
    table = FacetTable.from_rows(ROWS)
    assert table.matching(FacetSelection()) is None
    assert table.matching(FacetSelection.parse({"type": ["blog", "report"]})) == {"a", "b", "c"}
    assert table.matching(FacetSelection.parse({"type": ["blog"], "mentions": ["hackney"]})) == {"b"}
    assert table.matching(FacetSelection.parse({"type": ["blog"], "council": ["hackney"]})) == set()
    assert table.matching(FacetSelection.parse({"council": ["nowhere"]})) == set()


@pytest.mark.unit
def test_a_council_is_what_a_source_is_about_not_every_council_it_names():
    """Issue 26: Dorset's inspection names North Yorkshire's model; ticking North Yorkshire ("about") finds
    North Yorkshire's own report, not Dorset's, which "mentions" finds."""
    from index.records import Inspection, about_councils

    dorset = Inspection("Dorset", "ILACS")
    assert about_councils(("Dorset", "North Yorkshire"), dorset, "Ofsted", "Dorset inspection") == ("Dorset",)
    assert about_councils(("Hackney", "Leeds"), None, "London Borough of Hackney", "Our year") == ("Hackney",)
    assert about_councils(("Hackney", "Leeds"), None, "Community Care", "Hackney's model, a decade on") == ("Hackney",)
    assert about_councils(("York",), None, "North Yorkshire County Council", "No Wrong Door") == ()
    table = FacetTable.from_rows([
        FacetRow("dorset", "report", "2021-11-19", ("Dorset", "North Yorkshire"), (), (), about=("Dorset",)),
        FacetRow("north-yorkshire", "report", "2023-08-18", ("North Yorkshire",), (), (), about=("North Yorkshire",)),
    ])
    assert table.matching(FacetSelection.parse({"council": ["north-yorkshire"]})) == {"north-yorkshire"}
    assert table.matching(FacetSelection.parse({"mentions": ["north-yorkshire"]})) == {"dorset", "north-yorkshire"}


@pytest.mark.unit
def test_undated_sources_are_reachable_and_outside_every_year_range():
    table = FacetTable.from_rows(ROWS)
    assert table.matching(FacetSelection.parse({"year": ["unknown"]})) == {"c"}
    assert table.matching(FacetSelection.parse({"year": ["Unknown", "2014"]})) == {"b", "c"}
    assert table.matching(FacetSelection.parse({}, year_from="2015")) == {"a"}
    assert table.matching(FacetSelection.parse({}, year_to="2015")) == {"b"}
    assert table.matching(FacetSelection.parse({}, year_from="2014", year_to="2016")) == {"a", "b"}
    assert table.matching(FacetSelection.parse({"type": ["blog"]}, year_from="2014", year_to="2014")) == {"b"}
    # The year stays out of the stored facet values (charts count dated sources by year).
    assert table.by_source["c"]["year"] == ()


@pytest.mark.unit
def test_a_year_range_is_checked():
    assert FacetSelection.parse({}, " ", "").has_range is False
    selection = FacetSelection.parse({"type": ["blog"]}, "2014", "2016")
    assert (selection.year_from, selection.year_to) == (2014, 2016)
    assert selection.range_args() == {"from": 2014, "to": 2016}
    assert selection.without("range") == FacetSelection({"type": ("blog",)})
    assert selection.without("type", "blog").has_range
    with pytest.raises(QueryError, match="from 2017 is later than to 2014"):
        FacetSelection.parse({}, "2017", "2014")
    with pytest.raises(QueryError, match="from must be a four-digit year"):
        FacetSelection.parse({}, "last year", None)


@pytest.mark.unit
def test_a_chosen_facet_keeps_its_other_values_listed():
    """Disjunctive counts: ticking "blog" leaves "report" listed with the number a tick would add, while the
    other facets are counted over the blogs alone."""
    table = FacetTable.from_rows(ROWS)
    selection = FacetSelection.parse({"type": ["blog"]})
    blogs = table.matching(selection)
    lifted = {facet: table.matching(without) or set(table.by_source)
              for facet, without in table.lifted_selections(selection).items()}
    assert set(lifted) == {"type"}
    counts = table.counts(sorted(blogs), lifted)
    assert counts["type"] == {"blog": 2, "report": 1}
    assert counts["mentions"] == {"hackney": 1} and counts["year"] == {"2014": 1, "unknown": 1}
    # Without the lifted sources, the unticked type would vanish (the old behaviour).
    assert table.counts(sorted(blogs))["type"] == {"blog": 2}


@pytest.mark.unit
def test_selection_is_checked_and_edited():
    selection = FacetSelection.parse({"council": [" Hackney ", "hackney", ""], "year": ["2016"]})
    assert selection.values == {"council": ("hackney",), "year": ("2016",)}
    assert selection.without("council", "hackney").values == {"year": ("2016",)}
    with pytest.raises(QueryError, match="four-digit year"):
        FacetSelection.parse({"year": ["last year"]})
    with pytest.raises(QueryError, match="at most 20"):
        FacetSelection.parse({"council": [f"c{i}" for i in range(21)]})


@pytest.mark.integration
def test_facets_narrow_results_and_total(corpus_searcher):
    everything = corpus_searcher.search("social work", top_k=10)
    assert sum(everything.facets["type"].values()) == everything.total
    blogs = corpus_searcher.search("social work", top_k=10, facets=FacetSelection.parse({"type": ["blog"]}))
    assert blogs.total == everything.facets["type"]["blog"] < everything.total
    assert {r.type for r in blogs.results} == {"blog"}
    hackney = corpus_searcher.search("innovation", facets=FacetSelection.parse({"mentions": ["hackney"]}))
    assert hackney.total >= 1 and all("hackney" in corpus_searcher.facet_table.by_source[r.document_id]["mentions"]
                                      for r in hackney.results)
    assert hackney.facets["mentions"]["hackney"] == hackney.total
    # None of the sample's articles and posts is about Hackney (none is an inspection of it, published by it
    # or titled with its name): "about" finds none of them.
    about = corpus_searcher.search("innovation", facets=FacetSelection.parse({"council": ["hackney"]}))
    assert about.total == 0


@pytest.mark.integration
def test_ticking_a_type_keeps_the_other_types_counted(corpus_searcher):
    everything = corpus_searcher.search("social work", top_k=10)
    assert len(everything.facets["type"]) >= 2
    blogs = corpus_searcher.search("social work", top_k=10, facets=FacetSelection.parse({"type": ["blog"]}))
    # The type facet is counted as if no type were ticked; the others over the blogs only.
    assert blogs.facets["type"] == everything.facets["type"]
    assert sum(blogs.facets["year"].values()) == blogs.total < everything.total


@pytest.mark.integration
def test_sort_by_date_reorders_the_same_sources_newest_first(corpus_searcher):
    ranked = corpus_searcher.search("social work", top_k=50)
    dated = corpus_searcher.search("social work", top_k=50, sort="date")
    assert dated.total == ranked.total and dated.facets == ranked.facets
    assert {r.document_id for r in dated.results} == {r.document_id for r in ranked.results}
    dates = [r.date for r in dated.results]
    known = [d for d in dates if d]
    assert known == sorted(known, reverse=True)
    # Undated sources come after every dated one.
    assert dates == known + [None] * (len(dates) - len(known))
    assert [r.document_id for r in dated.results] != [r.document_id for r in ranked.results] or len(known) < 2
    with pytest.raises(QueryError, match="sort must be relevance or date"):
        corpus_searcher.search("social work", sort="newest")


@pytest.mark.integration
def test_sort_by_date_pages_follow_on(corpus_settings):
    """Each page sorted by date sorts the same sources, so page 2 never holds one newer than page 1's."""
    from index.search.searcher import Searcher
    from index.storage import open_generation

    settings = corpus_settings.replace(candidates=2)
    searcher = Searcher(settings, open_generation(settings))
    first = searcher.search("social work", top_k=1, sort="date")
    paged = [first.results[0]] + [r for page in range(2, first.total + 1)
                                  for r in searcher.search("social work", top_k=1, page=page, sort="date").results]
    assert len({r.document_id for r in paged}) == len(paged) == first.total
    known = [r.date for r in paged if r.date]
    assert known == sorted(known, reverse=True)
