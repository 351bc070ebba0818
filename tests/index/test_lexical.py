"""The tantivy lexical index: the same matches as FTS5, filters inside the engine, and derived indexes."""

import os

import pytest
from haystack import Document

from index.errors import IndexNotFoundError
from index.search.query import parse_query
from index.search.retrievers import LexicalRetriever
from index.search.synonyms import Synonyms
from index.storage.contract import LexicalRow
from index.storage.lexical_retrieval import focus, lexical_retrieval
from index.storage.local.lexical import LexicalIndex
from index.storage.local.store import KBDocumentStore

pytestmark = pytest.mark.unit

PASSAGES = [
    ("s1", "Edge of care", "Adolescents on the edge of care in North Yorkshire"),
    ("s1", "Edge of care", "No Wrong Door hubs support young people"),
    ("s2", "Hackney", "Reclaiming Social Work in Hackney: systemic units"),
    ("s3", "Trafford", "The power to innovate and Trafford's section 75 agreement"),
    ("s4", "Café culture", "Young people met social workers at a café in 2019"),
    ("s5", "Care leavers", "Care leavers and housing: staying close to the care home"),
    ("s6", "Innovation", "Innovating in children's social care: the innovation programme"),
]


def _rows(passages=PASSAGES, start=1):
    return [LexicalRow(i, s, t, c) for i, (s, t, c) in enumerate(passages, start=start)]


@pytest.fixture
def store(tmp_path):
    store = KBDocumentStore(tmp_path / "c.sqlite")
    store.write_documents([Document(id=f"p{i}", content=c, meta={"source_id": s, "title": t})
                           for i, (s, t, c) in enumerate(PASSAGES, start=1)])
    return store


@pytest.fixture
def index(tmp_path):
    LexicalIndex.build(tmp_path / "lex", _rows())
    return LexicalIndex.open(tmp_path / "lex")


def _fts_rows(store, match):
    return {h.rowid for h in store.bm25_retrieval(match, top_k=100, with_content=False)} if match else set()


@pytest.mark.parametrize("raw", [
    "edge care", "adolescents edge of care", '"edge of care"', '"social work" OR trafford -hackney', "young people",
    "social -cafe", "care leavers housing", "section 75", "the power of innovation", "young OR hackney",
    '"edge of care" young', "innovating", "Cafe", "2019",
])
def test_strict_and_relaxed_plans_match_what_fts5_matches(store, tmp_path, raw):
    store.save_lexical(tmp_path / "lex")
    parsed = parse_query(raw)
    lexical = LexicalIndex.open(tmp_path / "lex")
    assert {r for r, _ in lexical.search(parsed.strict_plan(), 100)} == _fts_rows(store, parsed.strict_match())
    relaxed = parsed.relaxed_plan()
    found = {r for r, _ in lexical.search(relaxed, 100)} if relaxed else set()
    assert found == _fts_rows(store, parsed.relaxed_match())


def test_accents_digits_and_stems(index):
    assert [r for r, _ in index.search(parse_query("café").strict_plan(), 10)] == [5]
    assert [r for r, _ in index.search(parse_query("2019").strict_plan(), 10)] == [5]
    assert {r for r, _ in index.search(parse_query("innovation").strict_plan(), 10)} == {4, 7}, "one stem"
    assert index.search(parse_query("innovat").strict_plan(), 10) == [], "stems, not prefixes"


def test_phrase_needs_its_words_in_order(index):
    assert [r for r, _ in index.search(parse_query('"people met social"').strict_plan(), 10)] == [5]
    assert index.search(parse_query('"social people met"').strict_plan(), 10) == []
    assert {r for r, _ in index.search(parse_query('"edge of care"').strict_plan(), 10)} == {1, 2}, "in its title"


def test_exclusion_leaves_out_passages_with_the_word_in_text_or_title(index):
    assert {r for r, _ in index.search(parse_query("social").strict_plan(), 10)} == {3, 5, 7}
    assert {r for r, _ in index.search(parse_query("social -hackney").strict_plan(), 10)} == {5, 7}
    assert {r for r, _ in index.search(parse_query("social -culture").strict_plan(), 10)} == {3, 7}, "title"


def test_title_weight_ranks_a_title_match_first_only_when_weighted(tmp_path):
    rows = [LexicalRow(1, "a", "Fostering", "placements and placements for children"),
            LexicalRow(2, "b", "Placements", "for children and young people")]
    LexicalIndex.build(tmp_path / "lex", rows)
    index = LexicalIndex.open(tmp_path / "lex")
    plan = parse_query("placements").strict_plan()
    assert [r for r, _ in index.search(plan, 2, title_weight=0.0)] == [1, 2], \
        "unweighted, the title counts once, as words of the text: two mentions beat one"
    assert index.search(plan, 2, title_weight=10.0)[0][0] == 2
    weighted = dict(index.search(plan, 2, title_weight=1.0))
    assert weighted[2] > dict(index.search(plan, 2, title_weight=0.5))[2]


def test_the_title_is_searched_as_the_first_words_of_each_passage(tmp_path):
    """As a reference BM25 reads "title text": a title word or phrase matches every passage of its
    source without the title field (title_weight 0), and counts toward the passage's length."""
    rows = [LexicalRow(1, "s1", "Family group conferences", "Meetings held with relatives before court"),
            LexicalRow(2, "s1", "Family group conferences", "An evaluation across twenty councils"),
            LexicalRow(3, "s2", "Court work", "Family members and group work with social workers")]
    LexicalIndex.build(tmp_path / "lex", rows)
    index = LexicalIndex.open(tmp_path / "lex")
    assert {r for r, _ in index.search(parse_query("conferences").strict_plan(), 10, title_weight=0.0)} == {1, 2}
    phrase = parse_query('"family group conferences"').strict_plan()
    assert {r for r, _ in index.search(phrase, 10, title_weight=0.0)} == {1, 2}, "a title phrase, by its pairs"
    assert index.matching(phrase, [1, 2, 3]) == {1, 2}
    assert {r for r, _ in index.search(parse_query('"family group"').strict_plan(), 10, title_weight=0.0)} \
        == {1, 2}, "s2 holds both words but not side by side"


def test_an_index_of_the_older_layout_is_not_current_and_a_build_starts_afresh(store, tmp_path):
    store.save_lexical(tmp_path / "old")
    assert LexicalIndex.current(tmp_path / "old")
    (tmp_path / "old" / "kb-lexical.json").write_text('{"format": 1}', encoding="utf-8")
    assert not LexicalIndex.current(tmp_path / "old")
    assert not LexicalIndex.current(tmp_path / "missing")
    with pytest.raises(ValueError, match="format 1"):
        LexicalIndex.derive(tmp_path / "old", tmp_path / "new", [], [])


def test_filters_apply_before_ranking_so_top_k_is_filled(tmp_path):
    # Forty strong passages of one source, then five weak ones of another: a filter on the second
    # must still return its five, not the share of a top 5 left after filtering.
    rows = [LexicalRow(i, "big", "", "care care care care") for i in range(1, 41)]
    rows += [LexicalRow(100 + i, "small", "", f"care and {i} other words of text here") for i in range(5)]
    LexicalIndex.build(tmp_path / "lex", rows)
    index = LexicalIndex.open(tmp_path / "lex")
    plan = parse_query("care").strict_plan()
    assert {r for r, _ in index.search(plan, 5)} <= set(range(1, 41))
    assert {r for r, _ in index.search(plan, 5, source_ids={"small"})} == set(range(100, 105))
    assert {r for r, _ in index.search(plan, 5, rowids=[3, 101, 999])} == {3, 101}
    assert index.search(plan, 5, source_ids=set()) == []
    found = index.search(plan, 5, exclude_rowids={1, 2, 3})
    assert len(found) == 5 and not {r for r, _ in found} & {1, 2, 3}


def test_derive_leaves_the_base_as_it_was_and_applies_the_change(tmp_path):
    LexicalIndex.build(tmp_path / "base", _rows())
    before = {p.name: (p.stat().st_ino, p.stat().st_size, p.read_bytes()) for p in (tmp_path / "base").iterdir()}
    changed = [LexicalRow(20, "s2", "Hackney", "Hackney's family hubs"), LexicalRow(21, "s9", "New", "Mockingbird")]
    count = LexicalIndex.derive(tmp_path / "base", tmp_path / "new", ["s2", "s3"], changed)
    assert count == len(PASSAGES) - 2 + 2
    after = {p.name: (p.stat().st_ino, p.stat().st_size, p.read_bytes()) for p in (tmp_path / "base").iterdir()}
    assert after == before, "no file of the base index was changed, added or removed"
    shared = [p for p in (tmp_path / "new").iterdir() if p.name in before and not p.name.startswith(".")
              and p.suffix != ".json"]
    assert shared and all(p.stat().st_ino == before[p.name][0] for p in shared), "segments are hard links"
    base, new = LexicalIndex.open(tmp_path / "base"), LexicalIndex.open(tmp_path / "new")

    def found(index, raw):
        return {r for r, _ in index.search(parse_query(raw).strict_plan(), 100)}

    assert found(base, "hackney") == {3} and found(new, "hackney") == {20}
    assert found(base, "trafford") == {4} and found(new, "trafford") == set()
    assert found(base, "mockingbird") == set() and found(new, "mockingbird") == {21}
    assert found(new, "edge care") == {1, 2}, "unchanged sources are still there"
    assert len(base) == len(PASSAGES) and len(new) == len(PASSAGES)


def test_open_and_derive_refuse_a_directory_without_an_index(tmp_path):
    with pytest.raises(IndexNotFoundError, match="no lexical index"):
        LexicalIndex.open(tmp_path)
    with pytest.raises(IndexNotFoundError, match="no lexical index"):
        LexicalIndex.derive(tmp_path, tmp_path / "new", [], [])


def test_store_uses_the_lexical_index_when_saved_and_fts5_otherwise(store, tmp_path):
    query = parse_query("social care")
    fts = LexicalRetriever(store, top_k=10).run(query=query)
    assert store.lexical_index() is None
    store.save_lexical(tmp_path / "lex")
    assert store.lexical_index() is not None
    tv = LexicalRetriever(store, top_k=10).run(query=query)
    assert {h.rowid for h in tv["hits"]} == {h.rowid for h in fts["hits"]} == {7}
    assert {h.rowid for h in tv["relaxed_hits"]} == {h.rowid for h in fts["relaxed_hits"]}
    assert all(h.content for h in tv["hits"] + tv["relaxed_hits"]), "passages carry their text"
    store.finalise()
    reopened = KBDocumentStore(store.path, read_only=True, lexical_path=tmp_path / "lex")
    filters = {"field": "meta.source_id", "operator": "in", "value": ["s5"]}
    assert {h.source_id for h in lexical_retrieval(reopened, query, relaxed=True, filters=filters)} == {"s5"}
    by_meta = {"field": "meta.title", "operator": "==", "value": "Hackney"}
    assert {h.rowid for h in lexical_retrieval(reopened, query, relaxed=True, filters=by_meta)} == {3}
    missing = KBDocumentStore(store.path, read_only=True, lexical_path=tmp_path / "absent")
    assert {h.rowid for h in lexical_retrieval(missing, query)} == {7}, "no index there: FTS5 answers"


def test_sources_matching_among_candidates_agrees_with_fts5(store, tmp_path):
    parsed = parse_query("care -young -hackney")
    everywhere = store.sources_matching(parsed.exclusion_match())
    store.save_lexical(tmp_path / "lex")
    among = {"s1", "s2", "s3", "s5"}
    assert everywhere == {"s1", "s2", "s4"}
    assert store.sources_matching(parsed.exclusion_match(), among=among, plan=parsed.exclusion_plan()) == {"s1", "s2"}


def test_build_refuses_an_existing_directory(tmp_path):
    os.makedirs(tmp_path / "lex")
    with pytest.raises(FileExistsError):
        LexicalIndex.build(tmp_path / "lex", _rows())


def test_an_unreadable_lexical_index_falls_back_to_fts5(store, tmp_path):
    store.save_lexical(tmp_path / "lex")
    store.finalise()
    (tmp_path / "lex" / "meta.json").write_text("{not an index", encoding="utf-8")
    reopened = KBDocumentStore(store.path, read_only=True, lexical_path=tmp_path / "lex")
    assert reopened.lexical_index() is None
    assert {h.rowid for h in lexical_retrieval(reopened, parse_query("social care"))} == {7}


def test_long_phrases_search_by_pairs_and_candidates_are_checked_word_for_word(tmp_path):
    rows = [LexicalRow(1, "a", "", "adolescents on the edge of care"),
            LexicalRow(2, "b", "", "the edge of reason, and of care"),
            LexicalRow(3, "c", "Edge of care", "a hub")]
    LexicalIndex.build(tmp_path / "lex", rows)
    index = LexicalIndex.open(tmp_path / "lex")
    plan = parse_query('"edge of care"').strict_plan()
    assert {r for r, _ in index.search(plan, 10)} == {1, 2, 3}, "row 2 holds both pairs, apart"
    assert index.matching(plan, [1, 2, 3]) == {1, 3}, "the phrase word for word, in text or title"
    assert index.matching(plan, [2]) == set()
    assert index.sources_matching(plan.clauses[0], {"a", "b"}) == {"a"}
    assert index.sources_matching(plan.clauses[0], set()) == set()
    two = parse_query('"edge of care" adolescents').strict_plan()
    assert index.matching(two, [1, 2, 3]) == {1}, "every clause, in the same passage"


def test_relaxed_plan_matches_a_long_synonym_phrase_by_its_parts(tmp_path):
    rows = [LexicalRow(1, "a", "", "children who are looked after by the council"),
            LexicalRow(2, "b", "", "looked after children and their outcomes"),
            LexicalRow(3, "c", "", "nothing relevant here")]
    LexicalIndex.build(tmp_path / "lex", rows)
    index = LexicalIndex.open(tmp_path / "lex")
    parsed = Synonyms.default().expand(parse_query("looked after children outcomes"))
    assert {r for r, _ in index.search(parsed.strict_plan(), 10)} == {2}
    relaxed = parsed.relaxed_plan()
    assert relaxed is not None and relaxed.any_word
    found = index.search(relaxed, 10)
    assert {r for r, _ in found} == {1, 2} and found[0][0] == 2


def test_store_checks_required_phrases_and_exclusions_in_the_lexical_index(store, tmp_path):
    parsed = parse_query('"edge of care" -hackney')
    rowids = [1, 2, 3, 4, 5]
    fts_required = store.matching_rowids(parsed.required_match(), rowids)
    fts_banned = store.sources_matching(parse_query("x -social").exclusion_match())
    store.save_lexical(tmp_path / "lex")
    assert store.matching_rowids(parsed.required_match(), rowids, plan=parsed.required_plan()) == fts_required
    assert fts_required == {1, 2}
    excluded = parse_query("x -social")
    among = {"s1", "s2", "s3", "s4", "s5", "s6"}
    assert store.sources_matching(excluded.exclusion_match(), among=among, plan=excluded.exclusion_plan()) \
        == fts_banned == {"s2", "s4", "s6"}


def test_an_index_of_another_layout_is_refused_and_fts5_answers(store, tmp_path):
    store.save_lexical(tmp_path / "lex")
    store.finalise()
    (tmp_path / "lex" / "kb-lexical.json").unlink()
    with pytest.raises(ValueError, match="format None"):
        LexicalIndex.open(tmp_path / "lex")
    reopened = KBDocumentStore(store.path, read_only=True, lexical_path=tmp_path / "lex")
    assert reopened.lexical_index() is None
    assert {h.rowid for h in lexical_retrieval(reopened, parse_query("social care"))} == {7}


def test_store_derives_the_lexical_index_of_a_changed_build(store, tmp_path):
    store.save_lexical(tmp_path / "live")
    store.delete_documents(["p4"])  # s3's passage changed: removed here and written again
    store.write_documents([Document(id="p4b", content="Trafford's new partnership", meta={"source_id": "s3"})])
    count = store.derive_lexical(tmp_path / "live", tmp_path / "new", ["s3"], ["s3"])
    assert count == len(PASSAGES) == store.count_documents()
    assert {h.id for h in lexical_retrieval(store, parse_query("trafford"))} == {"p4b"}
    live = LexicalIndex.open(tmp_path / "live")
    assert {r for r, _ in live.search(parse_query("trafford").strict_plan(), 10)} == {4}, "the live index is as it was"


NEAR_PASSAGES = [
    *PASSAGES,
    ("s7", "Far apart", "Care is what young people in many councils across England say they need from social workers"),
    ("s8", "Reversed", "Care, for adolescents on the edge: what works"),
    ("s9", "Phrase", "The edge of care team worked with adolescents at weekends"),
]


@pytest.mark.parametrize("raw", [
    "adolescents edge care", "young people social", "care young", '"edge of care" adolescents', "care leavers home",
    "social workers care", "innovation programme children",
])
def test_proximity_on_the_candidates_text_agrees_with_fts5_near(tmp_path, raw):
    store = KBDocumentStore(tmp_path / "c.sqlite")
    store.write_documents([Document(id=f"p{i}", content=c, meta={"source_id": s, "title": t})
                           for i, (s, t, c) in enumerate(NEAR_PASSAGES, start=1)])
    parsed = parse_query(raw)
    rowids = list(range(1, len(NEAR_PASSAGES) + 1))
    by_fts5 = store.near_rowids(parsed, rowids)
    assert by_fts5 == store.matching_rowids(parsed.proximity_match(), rowids)
    store.save_lexical(tmp_path / "lex")
    assert store.near_rowids(parsed, rowids) == by_fts5


# A pasted paragraph over PASSAGES: common words (care: in 3 texts and 3 titles, social: 3 texts),
# rarer ones (young, people: 2 texts; hackney, trafford, café: a text and a title each; 2019: one
# text), words no passage holds, and stopwords between.
LONG = ("care social young people care the social care of young people and hackney with trafford "
        "and cafe in 2019 unicorns zebras quasars nebulae comets meteors asteroids galaxies planets")


def test_document_frequencies_count_passages_by_stem_and_phrases_by_their_rarest_pair(index):
    terms = [parse_query(w).clauses[0][0] for w in ("care", "caring", "hackney", "2019", "unicorns", '"social care"')]
    # care: 4 passages' text (which opens with the title since the fair-BM25 change) + 3 titles.
    assert index.document_frequencies(terms) == [7, 7, 2, 1, 0, 1]


def test_a_long_query_keeps_its_informative_words_and_drops_common_ones(store, tmp_path, monkeypatch):
    import index.search.query
    import index.storage.lexical_retrieval

    parsed = parse_query(LONG)
    assert parsed.is_long
    store.save_lexical(tmp_path / "lex")
    monkeypatch.setattr(index.storage.lexical_retrieval, "MAX_LONG_QUERY_WORDS", 4)
    focused = focus(parsed, store.lexical_index())
    # The four of highest count x idf that some passage holds, in query order: young and people
    # (twice each, in 2 of 7 passages), 2019 (once, in 1) and social (twice, in 3); "care" (three
    # times but in 6 passages), hackney (once, in 2) and words no passage holds are left out.
    assert [t.text for t in focused.relaxed_plan().clauses[0]] == ["social", "young", "people", "2019"]
    assert focus(focused, store.lexical_index()) is focused
    # No strict (every word) query; the relaxed one finds the rare words' passages.
    assert lexical_retrieval(store, parsed, top_k=10) == []
    found = lexical_retrieval(store, parsed, relaxed=True, top_k=10)
    assert {h.source_id for h in found} == {"s1", "s2", "s4", "s6"}
    assert focus(parse_query("care hackney"), store.lexical_index()).focus is None  # a short query is as it was


def test_a_long_query_without_a_lexical_index_keeps_its_first_words(store, monkeypatch):
    import index.search.query

    monkeypatch.setattr(index.search.query, "MAX_LONG_QUERY_WORDS", 3)
    parsed = parse_query(LONG)
    assert store.lexical_index() is None
    assert focus(parsed, store.lexical_index()).relaxed_match() == '("care" OR "social" OR "young")'
    assert {h.source_id for h in lexical_retrieval(store, parsed, relaxed=True, top_k=10)} == {"s1", "s2", "s5", "s6",
                                                                                                "s4"}


def test_a_long_querys_repeated_word_weighs_more(index):
    """The same paragraph with 'hackney' said three times puts the Hackney passage above the Trafford one."""
    filler = " ".join(f"zz{i}" for i in range(20))
    once = parse_query(f"{filler} hackney trafford")
    thrice = parse_query(f"{filler} hackney hackney hackney trafford")
    assert once.is_long and thrice.is_long

    def scores(parsed):
        return {row: score for row, score in index.search(parsed.relaxed_plan(), 10)}

    hackney_row, trafford_row = 3, 4
    assert scores(thrice)[hackney_row] / scores(thrice)[trafford_row] > \
        scores(once)[hackney_row] / scores(once)[trafford_row]
