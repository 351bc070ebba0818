"""Practitioner queries, written before any tuning, must put the right article first."""

import re

import pytest

pytestmark = pytest.mark.integration

MINISTER, CYPNOW, ROUNDUP, CAFCASS, PRIVATE = ("003_9ee0817c87de1d62", "002_ff5d18d0e2eb88f1",
                                               "001_986c9394a0ec3c21", "000_63df589784a0696f",
                                               "004_7b87d5ffdc1c3793")

QUERIES = [
    ("adolescents edge of care", MINISTER),
    ("reclaiming social work Hackney", MINISTER),
    ("£30m innovation budget seed grants", MINISTER),
    ("outdated practice model", MINISTER),
    ("North Yorkshire adolescents in care", CYPNOW),
    ("Nicky Morgan social work reforms", CYPNOW),
    ("mutuals and trusts for children's social care", CYPNOW),
    ("Signs of Safety Lincolnshire", ROUNDUP),
    ("Munro review child centred system", ROUNDUP),
    ("Spring Consortium innovation programme projects", ROUNDUP),
    ("power to innovate family courts", CAFCASS),
    ("exemptions from legislation and statutory guidance", CAFCASS),
    ("Trafford NHS section 75 agreement", PRIVATE),
    ("private sector safeguarding innovation", PRIVATE),
    ("Localism Act section 81", PRIVATE),
    # A near-tie that the query encoder decides (issue 28): with the passages' own fp32 vectors (ONNX, served
    # since issue 28) the innovation-programme article scores 0.8971 and the minister's 0.8950; the old torch int8
    # encoder's error put the minister's first (0.8958 against 0.8883). Strict: if a ranking change brings the
    # minister's article back first, this fails and the mark must go.
    pytest.param("teenagers at risk of going into care", MINISTER, marks=pytest.mark.xfail(
        strict=True, reason="near-tie decided by the query encoder's precision; see the comment above")),
]


@pytest.mark.parametrize("query, expected", QUERIES)
def test_right_article_first(corpus_searcher, query, expected):
    response = corpus_searcher.search(query)
    assert response.results, query
    assert expected in response.results[0].source, [r.source for r in response.results]


def test_results_carry_highlighted_passages(corpus_searcher):
    response = corpus_searcher.search("adolescents edge of care")
    best = response.results[0]
    assert "<mark>adolescents</mark>" in best.passages[0].highlighted.lower()
    assert best.title.startswith("Children's minister")
    assert best.date == "2014-02-12" and best.publisher == "Community Care"


def test_exclusion_removes_whole_sources(corpus_searcher):
    everything = {r.document_id for r in corpus_searcher.search("innovation", top_k=10).results}
    without = corpus_searcher.search("innovation -Trafford", top_k=10)
    assert len(without.results) == len(everything) - 1
    assert all(PRIVATE not in r.source for r in without.results)


def test_quoted_phrase_is_required(corpus_searcher):
    response = corpus_searcher.search('"section 75"')
    assert [PRIVATE in r.source for r in response.results] == [True]


def test_paging_is_consistent(corpus_searcher):
    full = [r.document_id for r in corpus_searcher.search("social work", top_k=5).results]
    paged = [r.document_id for page in (1, 2, 3) for r in corpus_searcher.search("social work", top_k=2,
                                                                                   page=page).results]
    assert paged == full


def _pasted_paragraph(stem: str, words: int = 200) -> str:
    """``words`` words from the middle of a sample source's text, as someone would paste them."""
    from tests.conftest import CORPUS

    text = (CORPUS / f"{stem}.txt").read_text(encoding="utf-8").split()
    start = max(0, len(text) // 2 - words // 2)
    return " ".join(text[start : start + words])


@pytest.mark.parametrize("stem", [MINISTER, CYPNOW, ROUNDUP, CAFCASS, PRIVATE])
def test_a_pasted_paragraph_finds_the_source_it_came_from(corpus_searcher, stem):
    from index.search.query import MAX_LONG_QUERY_WORDS

    paragraph = _pasted_paragraph(stem)
    assert len(paragraph.split()) == 200 and len(paragraph) > 500  # refused before long queries were welcome
    response = corpus_searcher.search(paragraph)
    assert stem in response.results[0].source, [r.source for r in response.results]
    # Highlights mark the words searched for, a bounded set, not all 200.
    marked = {m.lower() for r in response.results for p in r.passages for m in re.findall(r"<mark>(.*?)</mark>",
                                                                                          p.highlighted)}
    assert marked and len(marked) <= MAX_LONG_QUERY_WORDS * 2  # a stem may be marked in two forms


def test_a_query_beyond_the_length_limit_gets_a_clear_message(corpus_searcher):
    from index.errors import QueryError

    limit = corpus_searcher.settings.max_query_chars
    too_long = ("care " * limit)[: limit + 1]
    with pytest.raises(QueryError, match=f"is {limit + 1} characters long; the limit is {limit}. Use fewer words"):
        corpus_searcher.search(too_long)


def test_a_sources_closeness_as_a_whole_is_the_cosine_to_its_mean_passage_vector(local_corpus_settings):
    import numpy as np

    from index.search.searcher import Searcher
    from index.storage import open_generation

    base = Searcher(local_corpus_settings, open_generation(local_corpus_settings))
    query = "care leavers housing and staying put"
    vector = base.embedder.embed(query)
    ranked = base.rank(query, 10)
    ids = [s for s, _ in ranked]
    closeness = base.closeness(vector, ids)
    assert set(closeness) == set(ids)
    groups: dict[str, list[np.ndarray]] = {}
    for source_id, passage_vector in base.store.passage_vectors():
        if source_id in closeness:
            groups.setdefault(source_id, []).append(np.asarray(passage_vector, dtype=np.float32))
    for source_id, vectors in groups.items():
        mean = np.mean(vectors, axis=0)
        expected = float(mean @ np.asarray(vector, dtype=np.float32) / np.linalg.norm(mean))
        assert closeness[source_id] == pytest.approx(expected, abs=1e-4)
    # With source_meaning_weight, each ranked source gains the weight times its closeness over the closest's.
    weight = 0.3
    lifted = Searcher(local_corpus_settings.replace(source_meaning_weight=weight), base.generation).rank(query, 10)
    before, after = dict(ranked), dict(lifted)
    # Sources the ranking's candidates did not reach follow the ranked ones at least 1.0 lower
    # (Searcher.rank): only the ranked ones are lifted.
    reached = [s for s, _ in ranked]
    for at in range(1, len(ranked)):
        if ranked[at - 1][1] - ranked[at][1] >= 1.0 - 1e-3:
            reached = reached[:at]
            break
    both = [s for s in reached if s in after and s in closeness]
    gains = {s: after[s] - before[s] for s in both}
    assert both and all(0 < g <= weight + 1e-6 for g in gains.values())
    ratios = [gains[s] / closeness[s] for s in both]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-3), "in proportion to each source's closeness"
