"""What the pages read across all sources, stored at build time (index/pages.py): it is there after an ingest,
workers read it instead of every passage and record, it gives exactly the views computing it gives, and a
generation without it (or with a damaged one) is computed as before.

Over the sample corpus and five real Ofsted reports (projects, councils, inspections, neighbours), real model."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from haystack.document_stores.types import DuplicatePolicy

from index.browse.catalogue import Browse
from index.browse.pages import GenerationPages, fill_source_vectors, mean_vectors
from index.search.facets import FacetTable
from index.storage import open_generation
from index.storage.contract import Generation
from index.storage.layout import PAGES_FILE, SOURCE_VECTORS_FILE
from index.storage.local.store import KBDocumentStore
from tests.webapp.test_leaders_inspections import leaders_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return leaders_settings(tmp_path_factory.mktemp("pages"))


def views(generation: Generation, pages: GenerationPages) -> dict:
    """Everything the browse and search pages show from the generation's sources, as plain values."""
    browse = Browse(generation, pages)
    table = pages.facet_table

    def rec(record):
        return [record.id, record.title, record.date]

    def mention(m):
        return None if m is None else [m.slug, m.ordinal, m.relation, m.excerpt]

    return {
        "facets": table.by_source, "labels": table.labels, "postings": table.postings,
        "counts": table.counts(list(browse.sources)),
        "sources": [rec(r) for r in browse.sources.values()],
        "projects": [[p.slug, p.sources, p.summary()] for p in browse.projects()],
        "councils": [[c.slug, c.name, c.sources, c.projects, c.region, c.statistical_neighbours]
                     for c in browse.councils()],
        "themes": [[t.id, ids] for t, ids in browse.themes()],
        "by_year": browse.by_year(browse.sources),
        "project_detail": {p.slug: [
            [[u.slug, u.uses, [[rec(r), mention(m)] for r, m in u.reports], [rec(r) for r in u.inspections]]
             for u in browse.project_councils(p.slug)],
            browse.related_projects(p.slug), [mention(browse.mention(p.slug, s)) for s in p.sources]]
            for p in browse.projects()},
        "council_detail": {c.slug: [
            [rec(r) for r in browse.inspections(c.name)],
            {k: [[rec(r), mention(m)] for r, m in v] for k, v in browse.council_projects(c.name).items()},
            browse.uses(c.name), browse.neighbours(c.slug)] for c in browse.councils()},
        "related": {s: [[r.id, score] for r, score in browse.related_documents(s)] for s in browse.sources},
    }


def test_an_ingest_stores_the_pages(settings):
    generation = open_generation(settings)
    assert (generation.path / PAGES_FILE).is_file() and (generation.path / SOURCE_VECTORS_FILE).is_file()
    pages = GenerationPages(generation)
    assert pages.stored
    with_passages = {d.meta["source_id"] for d in generation.store.filter_documents()}
    stored = generation.store.source_vectors()
    assert set(stored) == with_passages
    assert set(pages.vectors.ids) == with_passages & set(pages.index.order)
    assert pages.vectors.matrix.shape == (len(pages.vectors.ids), settings.embedding_dim)
    assert pages.index.inspections and pages.index.inspection_projects, "the reports' inspections are indexed"


def test_a_worker_reads_no_passage_vectors_and_only_the_records_it_shows(settings, monkeypatch):
    generation = open_generation(settings)
    store = generation.store

    def refuse(*args, **kwargs):
        raise AssertionError("a worker read every passage vector or facet row")

    read: list[list[str]] = []
    get_sources = store.get_sources

    def counted(ids):
        ids = list(ids)
        read.append(ids)
        return get_sources(ids)

    monkeypatch.setattr(store, "passage_vectors", refuse)
    monkeypatch.setattr(store, "facet_rows", refuse)
    monkeypatch.setattr(store, "get_sources", counted)
    pages = GenerationPages(generation)
    browse = Browse(generation, pages)
    assert pages.facet_table.counts(list(browse.sources))["type"]
    assert read == [], "start-up reads no source record"
    assert browse.by_year(browse.sources) and browse.themes()
    first = next(iter(browse.sources))
    related = browse.related_documents(first)
    assert related and first not in {r.id for r, _ in related}
    assert sum(len(ids) for ids in read) <= 1 + 5, "only the document itself and the five related to it are read"


def test_stored_pages_give_the_views_computing_them_gives(settings):
    generation = open_generation(settings)
    stored, computed = GenerationPages(generation), GenerationPages(generation, use_stored=False)
    assert stored.stored and not computed.stored
    assert stored.index == computed.index
    assert stored.vectors.ids == computed.vectors.ids
    np.testing.assert_array_equal(stored.vectors.matrix, computed.vectors.matrix)
    legacy = FacetTable.from_rows(generation.store.facet_rows())
    assert stored.facet_table.by_source == legacy.by_source and stored.facet_table.labels == legacy.labels
    got = views(generation, stored)
    assert got == views(generation, computed)
    nwd = got["project_detail"]["north-yorkshire-no-wrong-door"][0]
    assert {"dorset", "north-yorkshire"} <= {u[0] for u in nwd if u[1]}, "the views are not empty"


def _copy(settings, tmp_path) -> Path:
    """A copy of the data directory's live generation, to damage."""
    source = open_generation(settings).path
    target = tmp_path / "data"
    shutil.copytree(source.parent.parent, target)
    return target / "generations" / source.name


@pytest.mark.parametrize("damage", ["older generation", "unreadable", "other format", "vectors mismatch"])
def test_a_generation_without_usable_stored_pages_is_computed_as_before(settings, tmp_path, damage):
    expected = views(open_generation(settings), GenerationPages(open_generation(settings)))
    path = _copy(settings, tmp_path)
    if damage == "older generation":  # as built before the stored pages existed
        (path / PAGES_FILE).unlink()
        (path / SOURCE_VECTORS_FILE).unlink()
        with sqlite3.connect(path / "chunks.sqlite") as conn:
            conn.execute("DROP TABLE source_vectors")
    elif damage == "unreadable":
        (path / PAGES_FILE).write_text('{"format": 1, "order": [', encoding="utf-8")
    elif damage == "other format":
        data = json.loads((path / PAGES_FILE).read_text(encoding="utf-8"))
        (path / PAGES_FILE).write_text(json.dumps({**data, "format": 999}), encoding="utf-8")
    else:
        np.save(path / SOURCE_VECTORS_FILE, np.zeros((1, 384), dtype=np.float32))
    copied = open_generation(replace(settings, data_dir=path.parent.parent))
    pages = GenerationPages(copied)
    assert pages.stored == (damage == "vectors mismatch")
    assert views(copied, pages) == expected


def test_changed_passages_drop_their_source_vector_and_only_it_is_recomputed(settings, tmp_path):
    path = _copy(settings, tmp_path)
    store = KBDocumentStore(path / "chunks.sqlite")  # as a re-index writes into a copied generation
    before = store.source_vectors()
    changed, kept = sorted(before)[:2]
    passages = store.source_documents(changed)
    flipped = replace(passages[0], embedding=list(-np.asarray(passages[0].embedding)))
    store.write_documents([flipped], policy=DuplicatePolicy.OVERWRITE)
    assert changed not in store.source_vectors() and kept in store.source_vectors()
    assert fill_source_vectors(store) == 1
    after = store.source_vectors()
    expected = mean_vectors([[np.asarray(p.embedding, dtype=np.float32) for p in store.source_documents(changed)]])
    np.testing.assert_array_equal(after[changed], expected[0])
    assert not np.array_equal(after[changed], before[changed])
    assert all(np.array_equal(after[s], before[s]) for s in before if s != changed)
    store.delete_documents([p.id for p in store.source_documents(changed)])
    assert fill_source_vectors(store) == 0 and changed not in store.source_vectors()
