"""How many round trips a search makes to PostgreSQL: each waits on the database server, which is what limits
web replicas (docs/benchmarks.md, "Two web replicas over PostgreSQL")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from index.search.searcher import Searcher
from index.storage import open_generation

# Measured: 15, 13 and 9 statements before the storage contract (issue 22); 7, 6 and 4 round trips now
# (term statistics read once for both lexical searches and the missing-word check, the candidates' passage ids
# returned by the searches themselves, the shown passages and their sources read in one pipeline). Whole result
# sets (issue 23) add up to five: every source holding each word (one statement for the words, one for the
# phrases), every source close in meaning (one), and for a page showing sources the ranking's candidates did not
# reach, their best passages (one search, pruned or full): 12, 8 and 6 now.
MOST_ROUND_TRIPS = 12


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every round trip psycopg makes while inside: a statement on its own, or a pipeline of several."""
    sent: list[str] = []
    piped = threading.local()
    for cls in (psycopg.Cursor, psycopg.ServerCursor):
        def execute(self, query, params=None, *args, _original=cls.execute, **kwargs):
            if not getattr(piped, "on", False):
                sent.append(str(query)[:80])
            return _original(self, query, params, *args, **kwargs)

        monkeypatch.setattr(cls, "execute", execute)
    original_pipeline = psycopg.Connection.pipeline

    @contextmanager
    def pipeline(self):
        sent.append("pipeline")
        piped.on = True
        try:
            with original_pipeline(self) as p:
                yield p
        finally:
            piped.on = False

    monkeypatch.setattr(psycopg.Connection, "pipeline", pipeline)
    yield sent


@pytest.mark.parametrize("corpus_settings", ["postgresql"], indirect=True)
def test_a_plain_search_on_postgresql_takes_few_round_trips(corpus_settings, monkeypatch):
    searcher = Searcher(corpus_settings, open_generation(corpus_settings))
    searcher.search("warm up the model")
    counts = {}
    for query in ("adolescents edge of care", "family group conferencing", "innovation"):
        with counted(monkeypatch) as sent:
            response = searcher.search(query)
        assert response.results
        counts[query] = len(sent)
    assert 0 < max(counts.values()) <= MOST_ROUND_TRIPS, counts
