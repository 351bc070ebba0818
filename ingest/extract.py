"""Metadata stated in the text itself: publication dates and bylines.

Runs on the converted text *before* cleaning, because bylines ("Written by ... at 00:00") are
among the lines the cleaner removes. Found values rank below a sidecar and the file's embedded
metadata (see :mod:`ingest.metadata`).

Usage::

    extract_metadata("Innovation...\\n\\n26th Apr 2016\\n...")  # {"date": "2016-04-26"}
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

import dateparser
from haystack import Document, component

from ingest.authors import judge_names, kind_of, normal_name

_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_YEAR = r"(?:19|20)\d{2}"
DATE = rf"(?:{_YEAR}-\d{{2}}-\d{{2}}|{_DAY}\s+{_MONTH},?\s+{_YEAR}|{_MONTH}\s+{_DAY},?\s+{_YEAR})"

_POSTED = re.compile(rf"\b(?:originally posted|first published|posted|published|updated)\b\s*(?:on\s*)?:?\s*"
                     rf"(?P<date>{DATE})", re.IGNORECASE)
_DATE_LINE = re.compile(rf"^\W*(?:\w+day,?\s+)?(?P<date>{DATE})\W*$", re.IGNORECASE)
_BYLINE = re.compile(r"^(?:written|posted|published)\s+by\s+(?P<who>[^,|]+?)(?:\s+(?:at|on)\s+.*)?$", re.IGNORECASE)
_BY = re.compile(r"^[Bb]y\s+(?P<who>[A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+){1,3})$")
# "Report written by Dr Niamh O’Brien and Faye Acton (Anglia Ruskin University)": several writers.
_WRITTEN_BY = re.compile(r"^(?:[A-Z]\w+\s+){0,2}(?:written|prepared|compiled|authored)\s+by:?\s+(?P<who>[^()|]{4,160}?)"
                         r"\s*(?:\(.*\))?\.?$", re.IGNORECASE)
# "Report Author: Alistair Herbert, Data to Insight", "Authors: A and B": the persons named.
_AUTHORS_LINE = re.compile(r"^(?:report\s+)?(?:authors?|written by)\s*:\s*(?P<who>.{4,200})$", re.IGNORECASE)
# "Produced by the Department for Education and Skills", "Published by Ofsted": the publisher.
_PUBLISHED_BY = re.compile(r"^(?i:produced|published)\s+(?i:and\s+\w+\s+)?(?i:by)\s+(?i:the\s+)?"
                           r"(?P<org>[A-Z][\w’'&,. -]{2,90}?)\.?$")
# A foreword's or preface's signature is not the document's byline.
_FOREWORD = re.compile(r"\b(?:foreword|preface|introduction by)\b", re.IGNORECASE)
_NAME_WORD = re.compile(r"^[A-Z][\w'’.-]+$")

HEAD_LINES = 40
TAIL_LINES = 15


def parse_date(text: str) -> str | None:
    """An ISO date from a written date ("26th Apr 2016", "2014-02-12"), day first when ambiguous."""
    parsed = dateparser.parse(text, languages=["en"], settings={
        "DATE_ORDER": "DMY", "REQUIRE_PARTS": ["day", "month", "year"], "PREFER_DATES_FROM": "past"})
    return parsed.date().isoformat() if parsed else None


def _name(who: str) -> str | None:
    words = [w for w in who.split() if _NAME_WORD.match(w)]
    if len(words) < 2:
        return None
    # "Chief Executive Anthony Douglas": a job title often precedes the name; keep the last two words.
    return " ".join(words[-2:]) if len(words) > 3 or len(who.split()) > len(words) + 1 else " ".join(words)


def _writers(who: str) -> list[str]:
    """'Dr Niamh O’Brien and Faye Acton' → ['Niamh O’Brien', 'Faye Acton'] (persons only)."""
    names = [normal_name(n) for n in re.split(r",\s*|\s+and\s+|\s*&\s*", who) if n.strip()]
    return [n for n in names if kind_of(n)[0] == "person"]


def extract_metadata(text: str) -> dict[str, Any]:
    """Date, authors and publisher the text states near its start or end; keys only for what was found."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    indices = sorted({*range(min(HEAD_LINES, len(lines))), *range(max(0, len(lines) - TAIL_LINES), len(lines))})
    window = [(i, lines[i]) for i in indices]
    found: dict[str, Any] = {}
    for index, line in window:
        if "date" not in found:
            match = _POSTED.search(line) or (_DATE_LINE.match(line) if len(line) < 40 else None)
            if match and (value := parse_date(match.group("date"))):
                found["date"] = value
        if ("publisher" not in found and len(line) < 120 and (match := _PUBLISHED_BY.match(line))
                and kind_of(match["org"])[0] == "organisation"):
            found["publisher"] = " ".join(match["org"].split()).rstrip(".,")
            continue
        if "authors" not in found and len(line) < 200:
            if any(_FOREWORD.search(above) for above in lines[max(0, index - 2): index]):
                continue  # "Ministerial Foreword / By Margaret Hodge MP": the foreword's, not the guide's
            if (match := _WRITTEN_BY.match(line) or _AUTHORS_LINE.match(line)) and (names := _writers(match["who"])):
                found["authors"] = names
                continue
            match = _BYLINE.match(line) or _BY.match(line)
            if match and kind_of(match["who"])[0] != "organisation" and (name := _name(match.group("who"))):
                found["authors"] = [name]
    return found


@component
class TextMetadataExtractor:
    """Record what each document's text says about its date and authors (a Haystack component)."""

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        out = []
        for doc in documents:
            extracted = {} if doc.meta.get("structured") else extract_metadata(doc.content or "")
            embedded_names = (doc.meta.get("embedded") or {}).get("authors") or []
            if embedded_names and not doc.meta.get("structured"):
                # Judged against the raw text: bylines are among the lines the cleaner removes.
                # A format that states the byline itself (a feed entry's author, Markdown front matter).
                stated = doc.meta.get("authors_stated") if isinstance(doc.meta.get("authors_stated"), str) else None
                evidence = "\n".join(filter(None, (doc.content, doc.meta.get("byline_text"))))
                extracted["author_verdicts"] = [asdict(v) for v in judge_names(list(embedded_names), evidence,
                                                                                  stated)]
            out.append(Document(id=doc.id, content=doc.content, meta={**doc.meta, "extracted": extracted}))
        return {"documents": out}
