"""Facet values, selection and counts (no model), then facets through the Searcher (real model)."""

from __future__ import annotations

import pytest

from index.errors import QueryError
from index.facets import FacetSelection, FacetTable, slugify
from index.records import FacetRow

ROWS = [
    FacetRow("a", "report", "2016-04-26", ("Hackney", "Richmond upon Thames"), ("workforce",),
             (("reclaiming-social-work", "Reclaiming Social Work"),)),
    FacetRow("b", "blog", "2014-02-12", ("Hackney",), (), ()),
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
    assert list(counts["year"]) == ["2016", "2014"]
    assert counts["council"] == {"hackney": 2, "richmond-upon-thames": 1}
    assert counts["theme"] == {"workforce": 2, "early-help": 1}
    assert counts["project"] == {"reclaiming-social-work": 1}
    assert table.label("council", "richmond-upon-thames") == "Richmond upon Thames"
    assert table.label("theme", "early-help") == "Early help"


@pytest.mark.unit
def test_values_widen_and_facets_narrow():
    table = FacetTable.from_rows(ROWS)
    assert table.matching(FacetSelection()) is None
    assert table.matching(FacetSelection.parse({"type": ["blog", "report"]})) == {"a", "b", "c"}
    assert table.matching(FacetSelection.parse({"type": ["blog"], "council": ["hackney"]})) == {"b"}
    assert table.matching(FacetSelection.parse({"council": ["nowhere"]})) == set()


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
    hackney = corpus_searcher.search("innovation", facets=FacetSelection.parse({"council": ["hackney"]}))
    assert hackney.total >= 1 and all("hackney" in corpus_searcher.facet_table.by_source[r.document_id]["council"]
                                      for r in hackney.results)
    assert hackney.facets["council"]["hackney"] == hackney.total
