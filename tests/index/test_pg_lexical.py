"""The lexical index in PostgreSQL: the same passages written to tantivy and to a real PostgreSQL give the
same matches, the same order and (within float rounding) the same BM25 scores."""

from __future__ import annotations

import json
import re

import psycopg
import pytest

from index.errors import IndexNotFoundError
from index.search.highlight import CLOSE, OPEN
from index.search.query import MatchPlan, Term, parse_query
from index.storage.analysis import analyzer
from index.storage.contract import LexicalRow
from index.storage.local.lexical import LexicalIndex
from index.storage.postgres.lexical_search import PgLexicalIndex
from index.storage.postgres.lexical_write import fieldnorm, write_lexical
from tests.conftest import CORPUS

pytestmark = pytest.mark.integration

SCHEMA = "kbg_test_lexical"
WINDOW = 45  # words per passage: the sample corpus's texts cut into passages of a paragraph's length


def _rows() -> list[LexicalRow]:
    """The sample corpus's five real texts as passages, each with its source's title and byline."""
    rows = []
    for path in sorted(CORPUS.glob("*.txt")):
        meta = json.loads(path.with_name(path.name + ".meta.json").read_text(encoding="utf-8"))
        byline = " ".join([meta.get("publisher") or "", *meta.get("authors", [])]).strip()
        words = path.read_text(encoding="utf-8").split()
        for start in range(0, len(words), WINDOW):
            rows.append(LexicalRow(len(rows) + 1, path.stem, meta["title"], " ".join(words[start:start + WINDOW]),
                                   byline))
    return rows


ROWS = _rows()


@pytest.fixture(scope="module")
def tantivy(tmp_path_factory) -> LexicalIndex:
    path = tmp_path_factory.mktemp("lexical") / "lex"
    LexicalIndex.build(path, ROWS)
    return LexicalIndex.open(path)


@pytest.fixture(scope="module")
def pg(pg_url) -> PgLexicalIndex:
    from index.storage.postgres.pool import pool_for

    with psycopg.connect(pg_url) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        assert write_lexical(conn, SCHEMA, iter(ROWS)) == len(ROWS)
        conn.commit()
    return PgLexicalIndex(pool_for(pg_url), SCHEMA)


def _same(expected: list[tuple[int, float]], found: list[tuple[int, float]]) -> None:
    """The same passages with the same scores (tantivy scores in single precision), in the same order where
    scores differ (tied passages may come in another order)."""
    assert len(found) == len(expected)
    assert dict(found).keys() == dict(expected).keys()
    for rowid, score in expected:
        assert dict(found)[rowid] == pytest.approx(score, rel=2e-5)
    for (rowid, score), (other, found_score) in zip(expected, found, strict=True):
        assert found_score == pytest.approx(score, rel=2e-5)
        if other != rowid:  # a tie, broken another way: tantivy scored the passage found here the same
            assert dict(expected)[other] == pytest.approx(score, rel=2e-5)


QUERIES = [
    "children social care", "edge of care", '"power to innovate"', '"social work" OR court -Cafcass',
    "young people housing", "innovating in social work", "family courts", "the", "xyzzyq care", '"care leavers"',
    "innovation -\"social work\"", "local authorities OR councils",
]


@pytest.mark.parametrize("raw", QUERIES)
def test_strict_and_relaxed_searches_rank_as_tantivy_does(tantivy, pg, raw):
    parsed = parse_query(raw)
    for plan in (parsed.strict_plan(), parsed.relaxed_plan()):
        if plan is not None:
            _same(tantivy.search(plan, len(ROWS)), pg.search(plan, len(ROWS)))


def test_a_strict_query_finds_something_and_a_nonword_nothing(pg):
    assert pg.search(parse_query("children social care").strict_plan(), 10)
    assert pg.search(parse_query("xyzzyq").strict_plan(), 10) == []


def test_a_long_query_weighs_its_repeated_words_as_tantivy_does(tantivy, pg):
    text = " ".join(ROWS[7].content.split()[:40]) + " innovation innovation children"
    parsed = parse_query(text)
    assert parsed.is_long
    plan = parsed.relaxed_plan()
    assert plan is not None and plan.weights and max(plan.weights) > 1
    _same(tantivy.search(plan, len(ROWS)), pg.search(plan, len(ROWS)))
    assert pg.search(plan, 1)[0][0] == ROWS[7].rowid  # the passage it was taken from


@pytest.mark.parametrize("title_weight", [0.0, 0.5, 2.0])
def test_title_weight(tantivy, pg, title_weight):
    for raw in ("power to innovate", "supporting innovation", '"no wrong door"'):
        parsed = parse_query(raw)
        for plan in (parsed.strict_plan(), parsed.relaxed_plan()):
            if plan is not None:
                _same(tantivy.search(plan, len(ROWS), title_weight=title_weight),
                      pg.search(plan, len(ROWS), title_weight=title_weight))


def test_the_byline_counts_in_the_relaxed_match_only(tantivy, pg):
    parsed = parse_query("Cafcass chief executive")
    strict, relaxed = parsed.strict_plan(), parsed.relaxed_plan()
    assert relaxed is not None
    _same(tantivy.search(strict, len(ROWS)), pg.search(strict, len(ROWS)))
    _same(tantivy.search(relaxed, len(ROWS)), pg.search(relaxed, len(ROWS)))
    cafcass = {r.rowid for r in ROWS if "Cafcass" in r.byline}
    # "Douglas" is only in the byline of the Cafcass post (and in its text's first passage)
    found = {r for r, _ in pg.search(parse_query("Anthony Douglas innovation").relaxed_plan(), len(ROWS))}
    assert cafcass <= found


def test_filters_apply_before_ranking(tantivy, pg):
    plan = parse_query("social care").relaxed_plan()
    assert plan is not None
    sources = sorted({r.source_id for r in ROWS})[:2]
    rowids = [r.rowid for r in ROWS if r.rowid % 3 == 0]
    best = [r for r, _ in pg.search(plan, 5)]
    for kwargs in ({"source_ids": sources}, {"rowids": rowids}, {"exclude_rowids": set(best)},
                   {"source_ids": sources, "exclude_rowids": set(best), "rowids": rowids}):
        expected, found = tantivy.search(plan, len(ROWS), **kwargs), pg.search(plan, len(ROWS), **kwargs)
        _same(expected, found)
        assert found
        if "source_ids" in kwargs:
            assert {ROWS[r - 1].source_id for r, _ in found} <= set(sources)
        # top_k still fills from the passages the filter leaves
        assert len(pg.search(plan, 3, **kwargs)) == min(3, len(found))
    assert pg.search(plan, 10, source_ids=[]) == [] and pg.search(plan, 10, rowids=[]) == []


def test_matching_and_sources_matching_agree_with_tantivy(tantivy, pg):
    every = [r.rowid for r in ROWS]
    sources = {r.source_id for r in ROWS}
    for raw in ('"power to innovate"', '"social work" care', "court", '"care social"', '"edge of care" OR hackney'):
        plan = parse_query(raw).strict_plan()
        assert pg.matching(plan, every) == tantivy.matching(plan, every)
        assert pg.matching(plan, every[:10]) == tantivy.matching(plan, every[:10])
        words = tuple(t for clause in plan.clauses for t in clause)
        assert pg.sources_matching(words, sources) == tantivy.sources_matching(words, sources)
    assert pg.matching(parse_query('"power to innovate"').strict_plan(), every)  # the title's phrase
    assert pg.sources_matching((Term(("xyzzyq",)),), sources) == set()


def test_statistics_and_near_agree_with_tantivy(tantivy, pg):
    assert len(pg) == len(tantivy) == len(ROWS)
    terms = [Term(("care",)), Term(("innovating",)), Term(("social", "work")), Term(("power", "to", "innovate")),
             Term(("xyzzyq",)), Term(("cafcass",)), Term(("douglas",))]
    assert pg.document_frequencies(terms) == tantivy.document_frequencies(terms)
    assert pg.word_document_counts(terms) == tantivy.word_document_counts(terms)
    assert pg.document_frequencies([Term(("care",))])[0] > 10
    texts = {r.rowid: (r.content, r.title) for r in ROWS}
    for raw in ("social care", "power innovate", '"social work" children'):
        parsed = parse_query(raw)
        found = pg.near(parsed.proximity_terms(), texts, parsed.proximity_gap())
        assert found == tantivy.near(parsed.proximity_terms(), texts, parsed.proximity_gap())
    assert pg.analyze(Term(("Innovating",))) == tantivy.analyze(Term(("Innovating",))) == ["innov"]


def test_highlight_marks_stemmed_words_and_phrases_and_nothing_else(pg):
    texts = {r.rowid: r.content for r in ROWS}
    parsed = parse_query('innovate "social work"')
    marked = pg.highlight(parsed, texts, OPEN, CLOSE)
    assert marked
    text_analyzer = analyzer()
    for rowid, text in marked.items():
        assert text.replace(OPEN, "").replace(CLOSE, "") == texts[rowid]  # the text itself, marks added
        for span in re.findall(f"{OPEN}(.*?){CLOSE}", text):
            assert text_analyzer.analyze(span) in (["innov"], ["social", "work"])
    everything = "".join(marked.values())
    assert re.search(f"{OPEN}[Ii]nnovati(ve|on|ng){CLOSE}", everything)  # stems, not spellings
    assert f"{OPEN}social work{CLOSE}" in everything.replace(f"{OPEN}Social", f"{OPEN}social")
    # a passage holding "social" but not the phrase nor the word has no entry
    lone = {r.rowid: r.content for r in ROWS if "social" in r.content.lower() and "social work" not in
            r.content.lower() and not text_analyzer.analyze(r.content).count("innov")}
    assert lone and not set(pg.highlight(parsed, lone, OPEN, CLOSE))
    assert pg.highlight(parse_query("xyzzyq"), texts, OPEN, CLOSE) == {}


def test_highlight_of_overlapping_phrases_is_one_mark(pg):
    text = "The power to innovate helps; the power to change too."
    marked = pg.highlight(parse_query('"power to innovate" "to innovate helps"'), {1: text}, "[", "]")
    assert marked == {1: "The [power to innovate helps]; the power to change too."}


def test_the_write_is_the_callers_transaction(pg_url):
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE SCHEMA kbg_test_rolled_back")
        write_lexical(conn, "kbg_test_rolled_back", ROWS[:5])
        conn.rollback()
        assert conn.execute("SELECT to_regnamespace('kbg_test_rolled_back')").fetchone() == (None,)


def test_a_schema_without_lexical_tables_is_refused(pg_url):
    from index.storage.postgres.pool import pool_for

    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS kbg_test_empty")
        conn.commit()
    with pytest.raises(IndexNotFoundError):
        PgLexicalIndex(pool_for(pg_url), "kbg_test_empty")


def test_field_lengths_are_quantised_as_tantivy_stores_them():
    assert [fieldnorm(n) for n in (0, 1, 40, 41, 42, 43, 100, 1000)] == [0, 1, 40, 40, 42, 42, 96, 984]


def test_an_empty_plan_finds_nothing(pg):
    assert pg.search(MatchPlan(((Term(("’",)),),)), 10) == []
    assert pg.search(parse_query("care").strict_plan(), 0) == []


# Queries for the pruned plans: rare and common words together, phrases, exclusions, long pasted text.
PRUNED_QUERIES = [
    *QUERIES, "the care of children", "innovation in the social care of young people", "Hackney children",
    '"social work" innovation the', "children and families and the court", "power innovate local authorities",
    '"edge of care" children families', "care -innovation", "Cafcass the family court children",
    " ".join(ROWS[3].content.split()[:30]), " ".join(ROWS[20].content.split()[5:40]) + " care care",
]


def _plans(raw: str) -> list[MatchPlan]:
    parsed = parse_query(raw)
    return [p for p in (parsed.strict_plan(), parsed.relaxed_plan()) if p is not None]


def test_pruned_searches_return_exactly_what_the_full_query_does(pg, monkeypatch):
    """Scoring only candidates (the rarest clause's passages; MaxScore's essential words) gives the very
    rows, order and scores of scoring every posting, at every depth and with every filter; MaxScore's one
    statement takes each of its three ways (the first pass alone, a second pass, every passage)."""
    import index.storage.postgres.lexical_search as pg_lexical

    kinds, ways = set(), set()
    statement, found_rows = pg_lexical._Query.statement, pg_lexical.PgLexicalIndex._found_rows

    def choosing(self):
        chosen = statement(self)
        kinds.add(self.kind)
        return chosen

    def answered(self, rows):
        ways.update(row[7] for row in rows)  # how a MaxScore statement ended (None for the others)
        return found_rows(self, rows)

    monkeypatch.setattr(pg_lexical._Query, "statement", choosing)
    monkeypatch.setattr(pg_lexical.PgLexicalIndex, "_found_rows", answered)
    sources = sorted({r.source_id for r in ROWS})[1:4]
    rowids = [r.rowid for r in ROWS if r.rowid % 2 == 0]
    filters: list[dict] = [{}, {"source_ids": sources}, {"rowids": rowids}, {"exclude_rowids": set(range(1, 40))},
                           {"title_weight": 0.0}, {"title_weight": 3.0},
                           {"source_ids": sources, "rowids": rowids, "exclude_rowids": {2, 4, 6}}]
    for raw in PRUNED_QUERIES:
        for plan in _plans(raw):
            for kwargs in filters:
                for top_k in (1, 3, 10, 50):
                    assert pg.search(plan, top_k, **kwargs) == pg._search_full(plan, top_k, **kwargs), (raw, kwargs)
    # both kinds of pruning were exercised, and MaxScore answered each way, not only by the full query
    assert {"driving", "maxscore", "full"} <= kinds
    assert {0, 1, 2} <= ways, ways


def test_tables_without_bounds_are_searched_alike(pg, pg_url):
    """A generation written before lex_terms held bounds: MaxScore bounds every word by 1 (the most a
    normalised tf can be), so it prunes less, and finds the same."""
    from index.storage.postgres.pool import pool_for

    schema = SCHEMA + "_nobound"
    with psycopg.connect(pg_url) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
        write_lexical(conn, schema, iter(ROWS))
        conn.execute(f"ALTER TABLE {schema}.lex_terms DROP COLUMN bound")
        conn.commit()
    old = PgLexicalIndex(pool_for(pg_url), schema)
    for raw in PRUNED_QUERIES:
        for plan in _plans(raw):
            for top_k in (1, 5, 50):
                assert old.search(plan, top_k) == pg.search(plan, top_k) == pg._search_full(plan, top_k)
