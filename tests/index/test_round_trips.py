"""How many statements a search sends to PostgreSQL: each is a round trip to the database server, which is what
limits web replicas (docs/benchmarks.md, "Two web replicas over PostgreSQL")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from index.search.searcher import Searcher
from index.storage import open_generation


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent through psycopg while inside (plain and server-side cursors, pipelines counted per
    sync: one round trip however many statements it carries)."""
    sent: list[str] = []
    for cls in (psycopg.Cursor, psycopg.ServerCursor):
        original = cls.execute

        def execute(self, query, params=None, *args, _original=original, **kwargs):
            sent.append(str(query)[:80])
            return _original(self, query, params, *args, **kwargs)

        monkeypatch.setattr(cls, "execute", execute)
    yield sent


@pytest.mark.parametrize("corpus_settings", ["postgresql"], indirect=True)
def test_a_plain_search_on_postgresql_is_few_round_trips(corpus_settings, monkeypatch):
    searcher = Searcher(corpus_settings, open_generation(corpus_settings))
    searcher.search("warm up the model and the generation's statistics")
    counts = {}
    for query in ("adolescents edge of care", "family group conferencing", "innovation"):
        with counted(monkeypatch) as sent:
            response = searcher.search(query)
        assert response.results
        counts[query] = len(sent)
        print(query, *sent, sep="\n  ")
    print(counts)
    assert max(counts.values()) <= 3, counts
