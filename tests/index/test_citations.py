"""index.search.citations: a passage cites the page and the thread element of its best-matching sentence."""

from haystack import Document

from index.search.citations import best_citation, best_sentence
from index.search.highlight import CLOSE, OPEN
from index.storage.contract import PassageMeta
from ingest.split import PassageSplitter


def _mark(text: str, *terms: str) -> str:
    for term in terms:
        text = text.replace(term, f"{OPEN}{term}{CLOSE}")
    return text


def test_a_passage_over_two_pages_cites_the_page_of_the_matching_sentence():
    page_one = "The first page talks about budgets and staffing across the council. " * 3
    page_two = "Family group conferences reduced the number of children entering care. " * 2
    text = page_one + page_two
    doc = Document(content=text, meta={"source_id": "s", "page_starts": [0, len(page_one)]})
    passage = PassageSplitter(min_words=200, max_words=400).run(documents=[doc])["documents"][0]
    assert passage.meta["page"] == 1 and passage.meta["page_end"] == 2
    assert passage.meta["page_offsets"] == [[1, 0], [2, len(page_one)]]
    cited = best_citation(PassageMeta.of(passage.meta), _mark(passage.content, "Family group conferences", "care"))
    assert cited is not None and cited.to_dict() == {"page": 2}
    assert best_citation(PassageMeta.of(passage.meta), _mark(passage.content, "budgets")).to_dict() == {"page": 1}
    no_match = best_citation(PassageMeta.of(passage.meta), None)
    assert no_match is not None and no_match.to_dict() == {"page": 1, "page_end": 2}  # no match: the range


def test_a_passage_of_thread_elements_cites_the_element_that_matched():
    elements = ["Opening remarks from the conference chair.", "A note on lunch.", "Slides are online now.",
                "Kinship carers need more support, says the panel.", "Thanks to everyone who came."]
    text, citations = "", []
    for i, element in enumerate(elements):
        text += "\n\n" if text else ""
        citations.append({"author": f"@person{i}", "date": f"2016-09-0{i + 1}", "url": f"https://t/{i}",
                          "start": len(text), "end": len(text) + len(element)})
        text += element
    meta = {"start": 0, "citation": citations[0], "citations": citations}
    cited = best_citation(PassageMeta.of(meta), _mark(text, "Kinship", "carers"))
    assert cited is not None and cited.to_dict() == {"author": "@person3", "date": "2016-09-04", "url": "https://t/3"}


def test_the_sentence_with_most_distinct_terms_wins_over_the_first_match():
    marked = _mark("Care is mentioned here. Kinship care and carers appear together here.", "Care", "Kinship",
                   "carers")
    start, end = best_sentence(marked)
    plain = marked.replace(OPEN, "").replace(CLOSE, "")
    assert plain[start:end].startswith("Kinship")


def test_nothing_to_cite_gives_none():
    assert best_citation(PassageMeta.of({"start": 0}), "no marks") is None
