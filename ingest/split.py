"""Split cleaned text into passages: sentence-aware, about 150–250 words, small overlap.

Paragraphs are split into sentences by pysbd (rule-based, no model download); sentences are
gathered until a passage has ``min_words``, never passing ``max_words``; the last sentences of a
passage (up to ``overlap_words``) open the next one. Each passage keeps its character offsets in
the cleaned text, so ``text[start:end]`` is the passage.

Usage::

    spans = split_passages(text, min_words=150, max_words=250, overlap_words=40)
"""

from __future__ import annotations

import bisect
import itertools
import logging
import re
from dataclasses import dataclass
from typing import Any

import pysbd
from haystack import Document, component, default_from_dict, default_to_dict

from ingest.dense_text import real_title

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\S+")
_PARAGRAPH = re.compile(r"[^\n]+")
_SEGMENTER: pysbd.Segmenter | None = None
# The title is embedded with the passages of a short source only (an abstract, an article, a post: the
# text the title describes). Every passage of a long report shares its title, and the 284 Ofsted
# inspections share nearly one title: embedded with each passage it made them alike (dense nDCG@10 on
# the real reports 0.62 without, 0.59 with; docs/ranking.md, "Leave one collection out").
DENSE_TITLE_MAX_PASSAGES = 3


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    words: int


def _segmenter() -> pysbd.Segmenter:
    global _SEGMENTER
    if _SEGMENTER is None:
        _SEGMENTER = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return _SEGMENTER


def _trimmed(text: str, start: int, end: int) -> Span | None:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    start, end = start + lead, end - trail
    if start >= end:
        return None
    return Span(start, end, len(_WORD.findall(text, start, end)))


def sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``; every line break also ends a sentence (headings, list items)."""
    spans: list[Span] = []
    for paragraph in _PARAGRAPH.finditer(text):
        base = paragraph.start()
        pieces = _segmenter().segment(paragraph.group())
        if not pieces:
            pieces_spans = [(0, len(paragraph.group()))]
        else:
            pieces_spans = [(p.start, p.end) for p in pieces]
            # pysbd can leave gaps; widen each piece to the next one's start so no text is lost.
            pieces_spans = [(s if i else 0, pieces_spans[i + 1][0] if i + 1 < len(pieces_spans) else len(
                paragraph.group())) for i, (s, _) in enumerate(pieces_spans)]
        for start, end in pieces_spans:
            span = _trimmed(text, base + start, base + end)
            if span:
                spans.append(span)
    return spans


def _cut_long(text: str, span: Span, limit: int) -> list[Span]:
    """A run-on 'sentence' (tables, lists without stops) is cut into pieces of ``limit`` words."""
    if span.words <= limit:
        return [span]
    words = list(_WORD.finditer(text, span.start, span.end))
    pieces = []
    for i in range(0, len(words), limit):
        chunk = words[i : i + limit]
        pieces.append(Span(chunk[0].start(), chunk[-1].end(), len(chunk)))
    return pieces


def split_passages(text: str, min_words: int = 150, max_words: int = 250, overlap_words: int = 40,
                   units: list[Span] | None = None, fit_rest: bool = True) -> list[Span]:
    """Passage spans of ``text``; see the module docstring.

    :param units: pre-made units to pack instead of sentences (the elements of a thread); a
        passage is then always whole units, and units are not repeated across passages.
    :param fit_rest: when the rest of the text fits in ``max_words``, it is one passage: a 200-word
        abstract stays whole instead of becoming 150 words and a 90-word tail that repeats 40 of them
        (measured in docs/ranking.md, "Dense: as good as the plain model"). False: the older packing.
    """
    if units is not None:
        sents, overlap_words = units, 0
    else:
        sents = [piece for s in sentences(text) for piece in _cut_long(text, s, max_words)]
    # rest[i]: the words of sentences i onwards.
    rest = list(itertools.accumulate((s.words for s in reversed(sents)), initial=0))[::-1]
    passages: list[Span] = []
    i = 0
    while i < len(sents):
        j, words = i, 0
        goal = rest[i] if fit_rest and rest[i] <= max_words else min_words
        while j < len(sents) and words < goal:
            if words and words + sents[j].words > max_words:
                break
            words += sents[j].words
            j += 1
        passages.append(Span(sents[i].start, sents[j - 1].end, words))
        if j >= len(sents):
            break
        # Step back over trailing sentences that fit in the overlap, but always move forward.
        k, overlap = j, 0
        while k - 1 > i and overlap + sents[k - 1].words <= overlap_words:
            overlap += sents[k - 1].words
            k -= 1
        i = k
    # A short tail is folded into the passage before it rather than standing alone.
    if len(passages) > 1 and passages[-1].words < min_words // 3:
        tail, prev = passages.pop(), passages.pop()
        new_words = len(_WORD.findall(text, prev.start, tail.end))
        passages.append(Span(prev.start, tail.end, new_words))
    return passages


@component
class PassageSplitter:
    """Split each cleaned source into passage Documents carrying their offsets (a Haystack component).

    Usage::

        PassageSplitter(min_words=150, max_words=250, overlap_words=40).run(documents=sources)["documents"]

    Each passage's meta has ``source_id``, ``ordinal``, ``start``, ``end``, ``words`` and the
    source's filterable fields (title, type, date, publisher).
    """

    def __init__(self, min_words: int = 150, max_words: int = 250, overlap_words: int = 40) -> None:
        self.min_words = min_words
        self.max_words = max_words
        self.overlap_words = overlap_words

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, min_words=self.min_words, max_words=self.max_words,
                               overlap_words=self.overlap_words)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PassageSplitter:
        return default_from_dict(cls, data)

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        passages = []
        for doc in documents:
            text = doc.content or ""
            source_id = doc.meta["source_id"]
            inherited = {k: doc.meta.get(k) for k in ("title", "type", "date", "publisher", "source")}
            if doc.meta.get("title_placeholder"):
                inherited["title"] = ""  # a placeholder name is not searched as if it were the title
            title = real_title(doc.meta)
            raw_units = doc.meta.get("units")
            units = None
            if raw_units:
                units = [Span(u["start"], u["end"], len(_WORD.findall(text, u["start"], u["end"]))) for u in raw_units]
            page_starts = doc.meta.get("page_starts")
            spans = split_passages(text, self.min_words, self.max_words, self.overlap_words, units)
            if title and len(spans) <= DENSE_TITLE_MAX_PASSAGES:
                # What the embedding model reads beside the passage when dense_title is on (ingest/embed_cache.py).
                inherited["dense_title"] = title
            for ordinal, span in enumerate(spans):
                meta = {**inherited, "source_id": source_id, "ordinal": ordinal, "start": span.start,
                        "end": span.end, "words": span.words}
                if page_starts:
                    meta["page"] = bisect.bisect_right(page_starts, span.start)
                    meta["page_end"] = bisect.bisect_right(page_starts, max(span.start, span.end - 1))
                    if meta["page_end"] > meta["page"]:
                        # Where each page begins inside the passage, so a citation can name the page of
                        # the sentence that matched (index.search.citations.best_citation).
                        meta["page_offsets"] = [[meta["page"], 0]] + [
                            [page, page_starts[page - 1] - span.start]
                            for page in range(meta["page"] + 1, meta["page_end"] + 1)]
                if raw_units:
                    cited = [{**u["citation"], "start": u["start"], "end": u["end"]} for u in raw_units
                             if u.get("citation") and span.start <= u["start"] and u["end"] <= span.end]
                    if cited:
                        meta["citation"] = cited[0]
                        meta["citations"] = cited
                passages.append(Document(id=f"{source_id}-{ordinal:04d}", content=text[span.start : span.end],
                                         meta=meta))
        return {"documents": passages}
