"""Publishing to PostgreSQL in proportion to the change: a re-index sends only the changed source's rows, copies the
rest inside the database, and the new schema is row for row what copying the whole build writes."""

from __future__ import annotations

import shutil

import psycopg
import pytest

from index.search.searcher import Searcher
from index.storage import generations, open_generation
from index.storage.postgres.generations import PgGenerations
from index.storage.postgres.pool import gen_schema
from ingest.reindex import run_reindex
from tests.conftest import fresh_database, make_settings

pytestmark = pytest.mark.integration

TABLES = ("sources", "chunks", "source_signatures", "source_vectors", "files", "lex_postings", "lex_docs",
          "lex_fields", "lex_terms")
QUERIES = ("kinship care", "family help for children", "\"social workers\"", "foster -residential", "ofsted")


def _rows(url: str, gen_id: str) -> dict[str, list[str]]:
    """Every row of a generation's tables, as text, sorted: what two schemas must hold alike."""
    schema = gen_schema(gen_id)
    with psycopg.connect(url) as conn:
        return {t: [r[0] for r in conn.execute(f"SELECT t::text FROM {schema}.{t} t ORDER BY 1")] for t in TABLES}


@pytest.fixture
def published(monkeypatch) -> list:
    """What each PostgreSQL publish of the test sent and copied (``PgGenerations.last_publish``), in order."""
    seen = []
    original = PgGenerations.publish

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self.last_publish)

    monkeypatch.setattr(PgGenerations, "publish", spy)
    return seen


def _results(settings) -> list[list[tuple]]:
    searcher = Searcher(settings, open_generation(settings))
    out = []
    for query in QUERIES:
        response = searcher.search(query)
        out.append([(r.document_id, round(r.score, 5), [(p.chunk_id, round(p.score, 5)) for p in r.passages])
                    for r in response.results])
    return out


def test_a_one_file_reindex_sends_only_that_file_and_matches_a_full_build(tmp_path, corpus_copy, pg_url, published):
    url = fresh_database(pg_url)
    pg = make_settings(tmp_path / "pg", store_url=url)
    run_reindex([corpus_copy], pg)
    assert [p.derived for p in published] == [False]  # the first build has no live generation to derive from
    published.clear()
    changed = corpus_copy / "002_ff5d18d0e2eb88f1.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA closing note on kinship care was added.\n",
                       encoding="utf-8")
    report = run_reindex([corpus_copy], pg)
    assert report.changed == 1 and report.published

    # Only the changed source's rows crossed the wire; everything else was copied inside the database.
    [sent] = published
    generation = open_generation(pg)
    store = generation.store
    source_id = next(r.id for r in store.all_sources() if r.source.endswith(changed.name))
    passages = len(store.source_passages(source_id))
    assert sent.derived
    assert sent.sent["sources"] == 1 and sent.sent["source_signatures"] <= 1
    assert sent.sent["chunks"] == passages == sent.sent["lexical_passages"]
    assert sent.copied["chunks"] == store.count_documents() - passages > 0
    assert sent.copied["sources"] == store.count_sources() - 1

    # Row for row what copying the whole build writes: the same build (the writer keeps it) copied in whole.
    whole_url = fresh_database(pg_url)
    whole = PgGenerations(whole_url, tmp_path / "whole")
    mirror = generations(pg).local_copy(generation)
    assert mirror is not None
    with whole.lock():
        whole.import_generation(mirror, live=True)
    mirror.store.close()
    assert whole.last_publish is not None and not whole.last_publish.derived
    assert _rows(url, generation.id) == _rows(whole_url, generation.id)

    # The same results as a full build from scratch.
    full = make_settings(tmp_path / "full")
    run_reindex([corpus_copy], full, full=True)
    # A full build from scratch, for the lexical statistics: the local backend's re-index keeps tantivy's
    # deleted passages in its BM25 statistics until segments merge, so its scores differ slightly from both.
    assert _results(pg) == _results(full)


def test_a_writer_without_the_live_generation_copies_the_whole_build(tmp_path, corpus_copy, pg_url, published):
    """A writer whose copy is not of the live generation (another machine published, or it was lost) sends every
    row, and the result is the same."""
    url = fresh_database(pg_url)
    pg = make_settings(tmp_path / "pg", store_url=url)
    run_reindex([corpus_copy], pg)
    shutil.rmtree(tmp_path / "pg" / "postgresql-mirror")
    published.clear()
    changed = corpus_copy / "002_ff5d18d0e2eb88f1.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA closing note was added.\n", encoding="utf-8")
    assert run_reindex([corpus_copy], pg).published
    [sent] = published
    store = open_generation(pg).store
    assert not sent.derived and sent.sent["chunks"] == store.count_documents()
    # The next change is derived again, from the copy this publish left.
    changed.write_text(changed.read_text(encoding="utf-8") + "\nAnother note.\n", encoding="utf-8")
    assert run_reindex([corpus_copy], pg).published
    assert published[-1].derived and published[-1].sent["sources"] == 1


def test_a_derived_schema_has_the_vector_index_its_size_calls_for(tmp_path, corpus_copy, pg_url):
    """The copy of the live rows brings the live schema's indexes along; a generation of exact-search size keeps
    no HNSW index even when the live one had one (here made by hand: a corpus large enough is too slow)."""
    url = fresh_database(pg_url)
    pg = make_settings(tmp_path / "pg", store_url=url)
    run_reindex([corpus_copy], pg)
    live = gen_schema(open_generation(pg).id)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE INDEX chunks_embedding_hnsw ON {live}.chunks USING hnsw (embedding vector_ip_ops)")
    changed = corpus_copy / "002_ff5d18d0e2eb88f1.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA closing note was added.\n", encoding="utf-8")
    assert run_reindex([corpus_copy], pg).published
    schema = gen_schema(open_generation(pg).id)
    with psycopg.connect(url) as conn:
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,))}
    assert {"chunks_source_id_idx", "sources_pos_idx", "lex_postings_term"} <= names
    assert "chunks_embedding_hnsw" not in names
