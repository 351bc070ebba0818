import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.split import PassageSplitter, split_passages

pytestmark = pytest.mark.unit


def make_text(sentences: int, words: int = 12) -> str:
    paragraphs = []
    for p in range(0, sentences, 5):
        paragraphs.append(" ".join(
            f"Sentence {i} says " + " ".join(f"w{i}x{j}" for j in range(words - 3)) + "."
            for i in range(p, min(p + 5, sentences))
        ))
    return "\n\n".join(paragraphs)


def test_passages_are_sentence_aligned_sized_and_overlapping():
    text = make_text(100)
    spans = split_passages(text, min_words=150, max_words=250, overlap_words=40)
    assert len(spans) > 5
    for span in spans[:-1]:
        assert 150 <= span.words <= 250
        assert text[span.start : span.end].startswith("Sentence ")
        assert text[span.start : span.end].endswith(".")
    for prev, nxt in itertools.pairwise(spans):
        assert nxt.start < prev.end, "consecutive passages overlap"
        assert prev.end - nxt.start < 40 * 8
    assert spans[-1].end == len(text)


def test_overlong_sentence_is_cut_at_words():
    text = " ".join(f"word{i}" for i in range(700))
    spans = split_passages(text, 150, 250, 40)
    assert all(s.words <= 250 for s in spans)
    assert spans[0].start == 0 and spans[-1].end == len(text)


def test_short_tail_joins_previous_passage():
    text = make_text(14) + "\n\nA short tail."
    spans = split_passages(text, 150, 250, 40)
    assert spans[-1].end == len(text)
    assert spans[-1].words > 10


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("abc .!?\n\n£’“”-"), min_size=1, max_size=3000))
def test_offsets_cover_text_for_any_input(text):
    spans = split_passages(text, 20, 40, 5)
    words = re.findall(r"\S+", text)
    if not words:
        assert spans == []
        return
    covered = set()
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == text[span.start : span.end].strip()
        covered.update(m.start() for m in re.finditer(r"\S+", text) if span.start <= m.start() < span.end)
    assert len(covered) == len(words), "every word is in some passage"


def test_component_output_meta():
    from haystack import Document

    doc = Document(content=make_text(40), meta={"source_id": "abc", "title": "T", "type": "report",
                                                 "date": None, "publisher": "P", "source": "x.txt"})
    passages = PassageSplitter(100, 200, 30).run(documents=[doc])["documents"]
    assert passages[0].id == "abc-0000"
    for i, p in enumerate(passages):
        assert p.meta["ordinal"] == i
        assert doc.content[p.meta["start"] : p.meta["end"]] == p.content
        assert p.meta["title"] == "T" and p.meta["source_id"] == "abc"


def test_rest_that_fits_stays_one_passage():
    # A 200-word abstract was 150 words plus a tail repeating 40 of them; it is now one passage.
    text = make_text(20, words=10)
    assert [s.words for s in split_passages(text, 150, 250, 40)] == [200]
    assert [s.words for s in split_passages(text, 150, 250, 40, fit_rest=False)] == [150, 90]
    # A long text: passages of at least min_words until the rest fits in max_words, which closes it.
    long_text = make_text(45, words=10)
    spans = split_passages(long_text, 150, 250, 40)
    assert [s.words for s in spans[:-1]] == [150] * (len(spans) - 1)
    assert 150 < spans[-1].words <= 250 and spans[-1].end == len(long_text)
