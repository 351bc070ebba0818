"""Source metadata: sidecar file > metadata embedded in the file > what the text says > defaults.

Each source records where each value came from (``meta["provenance"]``), and gets a stable id
derived from where it came from (its path as ingested, or its URL).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from haystack import Document, component

from index.records import SOURCE_TYPES
from ingest.authors import NameVerdict
from ingest.discover import sidecar_for
from ingest.failures import Failure

logger = logging.getLogger(__name__)

FIELDS = ("title", "authors", "publisher", "date", "url", "type", "language")


def source_id_for(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar's fields, checked.

    :raises ValueError: with a message naming the sidecar and the problem.
    """
    sidecar = sidecar_for(path)
    if not sidecar.exists():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"metadata sidecar {sidecar} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"metadata sidecar {sidecar} must hold a JSON object")
    if data.get("type") is not None and data["type"] not in SOURCE_TYPES:
        raise ValueError(f"metadata sidecar {sidecar} has type {data['type']!r}; use one of {', '.join(SOURCE_TYPES)}")
    if data.get("date"):
        try:
            date.fromisoformat(str(data["date"])[:10])
        except ValueError:
            raise ValueError(f"metadata sidecar {sidecar} has date {data['date']!r}; use YYYY-MM-DD") from None
    if data.get("authors") is not None and not isinstance(data["authors"], list):
        raise ValueError(f"metadata sidecar {sidecar} must give authors as a list")
    gone = data.get("original_gone")
    if gone is not None:
        if not isinstance(gone, dict) or not gone.get("last_seen"):
            raise ValueError(f"metadata sidecar {sidecar} must give original_gone as an object with last_seen "
                             "(YYYY-MM-DD)")
        for key in ("last_seen", "noticed"):
            if gone.get(key) is not None and _iso_date(gone[key]) is None:
                raise ValueError(f"metadata sidecar {sidecar} has original_gone.{key} {gone[key]!r}; use YYYY-MM-DD")
    return data


def _iso_date(value: Any) -> str | None:
    """YYYY-MM-DD from a date, datetime or ISO string (sources are dated to the day)."""
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        from ingest.extract import parse_date

        return parse_date(text)


_PRODUCER_PREFIX = re.compile(r"^(microsoft (word|powerpoint|excel)|untitled|adobe \w+)\s*-\s*", re.IGNORECASE)
_FILE_NAME = re.compile(
    r"[. _](docx?|pdf|pptx?|xlsx?|rtf|odt|indd|tex|dvi|qxp|pages|txt|html?)\s*$"  # "report.pdf", "5414-Guide txt"
    r"|\s\(\d{1,3}\)\s*$"  # a copy's suffix: "Newsletter June 25 (002)"
    # words joined into one, with digits or capitals inside: "5414-DfES-AdvocacyServices" (not "Stoke-on-Trent")
    r"|(?:^|\s)(?=\S*(?:\d|(?-i:[a-z][A-Z])))[\w.]*[A-Za-z0-9][-_]\w+[-_][\w-]+(?:\s|$)"
    r"|\bv\d+(\.\d+)+\b|\b(final|draft)\s*v?\d*\s*$"  # a version: "Report v1.2", "... FINAL"
    r"|^\S*_\S*$",  # one word with underscores: "Childrens_Social_Care"
    re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"\btemplate\b|^(draft( report)?|untitled( document)?|document\d*|title|presentation|powerpoint presentation|"
    r"slide \d+|report|new document|no title|unknown|none|word document)$", re.IGNORECASE)
_MARKUP = re.compile(r"<%|%>|\{\{|\}\}|::|^\W*$|[\x00-\x1f]")
_DATE_LIKE = re.compile(r"^(last (update|updated|modified)|updated|published|posted|page \d+|"
                        r"v(ersion)?\s*\d+(\.\d+)*)\b", re.IGNORECASE)


def title_problem(title: str, publisher: str | None = None) -> str | None:
    """Why a metadata title is not a title (a template name, a file name, a site name, garbage), or None."""
    value = " ".join(title.replace("\x00", "").split())
    if _PRODUCER_PREFIX.match(value) or _FILE_NAME.search(value):
        return "a file name, not a title"
    if _PLACEHOLDER.search(value):
        return "a template or placeholder name"
    if publisher and value.lower() == publisher.strip().lower():
        return "the site's name, not the document's"
    if re.fullmatch(r"(www\.)?[\w-]+(\.[\w-]+)+", value):
        return "a site address, not a title"
    if _MARKUP.search(value):
        return "markup or control characters, not a title"
    letters = sum(ch.isalpha() for ch in value)
    if letters < 3:
        return "too short to be a title"
    from ingest.converters.pdf import text_quality

    if text_quality(value) < 0.9 or len({_script_of(ch) for ch in value if ch.isalpha()}) > 2:
        return "garbled characters, not a title"
    return None


# Scripts one language writes together: Japanese mixes kanji, hiragana and katakana; Korean hangul and hanja.
_SCRIPT_GROUPS = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "KATAKANA-HIRAGANA": "CJK", "HANGUL": "CJK", "CJK": "CJK",
                  "HALFWIDTH": "CJK",
                  "FULLWIDTH": "CJK"}


def _script_of(ch: str) -> str:
    import unicodedata

    script = unicodedata.name(ch, "?").split(" ", 1)[0]
    return _SCRIPT_GROUPS.get(script, script)


_SITE = re.compile(r"\bwww\.|\b[\w-]+\.(?:org|gov|co|com|ac|net)(?:\.uk)?\b|@", re.IGNORECASE)
# A title set in large type over several short lines ("Providing Effective / Advocacy Services for / ..."):
# lines of at most this many characters in one block are one title.
_TITLE_LINE_CHARS = 40


def _title_block(lines: list[str], start: int) -> str:
    """The line at ``start`` and the short lines that follow it in the same block (no blank line
    between), when every one of them is short: a title broken over lines."""
    block = [lines[start].strip()]
    for line in lines[start + 1: start + 8]:
        line = line.strip()
        if not line or _DATE_LIKE.match(line) or ":" in line or line.endswith("."):
            break
        block.append(line)
    if len(block) > 1 and all(len(line) <= _TITLE_LINE_CHARS for line in block):
        joined = " ".join(" ".join(block).split())
        if len(joined) <= 160:
            return joined
    return block[0]


def _title_from_text(text: str) -> str | None:
    """The first line that reads as a title: short, not a sentence, a date line, a version, a site
    address or a stray label (with the short lines after it when a title is set over several)."""
    lines = text.split("\n")[:60]
    for index, raw in enumerate(lines):
        line = raw.strip().lstrip("#").strip().strip('"“”‘’\'')
        words = line.split()
        if not (3 <= len(line) <= 200 and len(words) >= 2):
            continue
        if _DATE_LIKE.match(line) or _MARKUP.search(line) or _SITE.search(line) or title_problem(line):
            continue
        if len(words) > 20 or (len(words) > 12 and line.endswith((".", ":", ";"))):
            continue  # a sentence of the body, not a heading
        joined = _title_block([line, *lines[index + 1:]], 0)
        return joined if not title_problem(joined) else line
    return None


def _checked_title(embedded: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The embedded metadata with its title cleaned, or dropped (and why) when it is not a title."""
    title = embedded.get("title")
    if not isinstance(title, str):
        return embedded, None
    title = " ".join(title.replace("\x00", "").split())
    problem = title_problem(title, embedded.get("publisher")) if title else None

    if problem:
        return {**embedded, "title": None}, f"{title[:120]!r} from the file's metadata: {problem}"
    return {**embedded, "title": title or None}, None


@dataclass(frozen=True)
class Authorship:
    """A source's authors (persons), where they came from, the organisation its file's metadata names
    as author (a corporate author, when the text names it) and every name refused, with why."""

    authors: tuple[str, ...]
    origin: str | None
    corporate: str | None
    rejected: tuple[str, ...]


def resolve_authors(sidecar: dict[str, Any], template: dict[str, Any], embedded: dict[str, Any],
                    extracted: dict[str, Any]) -> Authorship:
    """Authors from evidence (``ingest/authors.py``): a sidecar's as given; a template's (none, for a
    corporate author such as Ofsted) over anything the file says; else the text's byline, else the
    names in the file's metadata that the text names as authors (``extracted["author_verdicts"]``)."""
    verdicts = [NameVerdict(**v) for v in extracted.get("author_verdicts") or []]
    if not verdicts and embedded.get("authors"):  # not judged (a structured format states its own authors)
        verdicts = [NameVerdict(str(a), "person", "stated by the format") for a in embedded["authors"]]
    if sidecar.get("authors") is not None:
        return Authorship(tuple(sidecar["authors"]), "sidecar", None, ())
    if template.get("name"):
        why = (f"the {template['name']} template names {template.get('publisher') or 'the publisher'} "
               "as the author")
        return Authorship(tuple(template.get("authors") or ()), "template", None,
                          tuple(f"{v.name!r} from the file's metadata: {why}" for v in verdicts))
    rejected = [f"{v.name!r} from the file's metadata: {v.reason}" for v in verdicts if v.accepted_as is None]
    persons = tuple(v.name for v in verdicts if v.accepted_as == "person")
    corporate = next((v.name for v in verdicts if v.accepted_as == "organisation"), None)
    if extracted.get("authors"):
        rejected += [f"{name!r} from the file's metadata: the text's byline names other authors"
                     for name in persons if name not in extracted["authors"]]
        return Authorship(tuple(extracted["authors"]), "text", corporate, tuple(rejected))
    return Authorship(persons, "embedded" if persons else None, corporate, tuple(rejected))


@component
class MetadataResolver:
    """Give each cleaned document its source metadata, with provenance (a Haystack component)."""

    @component.output_types(documents=list[Document], failures=list[Failure])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        resolved, failures = [], []
        for doc in documents:
            source = doc.meta["source"]
            try:
                sidecar = read_sidecar(Path(source)) if "://" not in source else {}
            except ValueError as exc:
                failures.append(Failure(source, str(exc), "fix or delete the sidecar file"))
                continue
            meta = dict(doc.meta)
            provenance: dict[str, str] = {}
            embedded = meta.pop("embedded", {}) or {}
            meta.pop("byline_text", None)  # read by the text extractor; not kept
            template = dict(meta.get("template") or {})
            extracted = {**(meta.pop("extracted", {}) or {}), "title": _title_from_text(doc.content or "")}
            embedded, rejected = _checked_title(embedded)
            authorship = resolve_authors(sidecar, template, embedded, extracted)
            # Authors are resolved above; the organisation a file's metadata names as its author (and the
            # text names too) is the publisher when nothing better names one.
            corporate = {"publisher": authorship.corporate} if authorship.corporate else {}
            extracted = {k: v for k, v in extracted.items() if k != "authors"}
            defaults = {"title": Path(source).stem, "authors": [], "type": "other", "language": "en"}
            for name in FIELDS:
                if name == "authors":
                    continue
                for origin, values in (("sidecar", sidecar), ("template", template), ("embedded", embedded),
                                       ("text", extracted), ("embedded author", corporate), ("default", defaults)):
                    if values.get(name) not in (None, "", []):
                        meta[name] = _iso_date(values[name]) if name == "date" else values[name]
                        provenance[name] = origin
                        break
                else:
                    meta[name] = None
            if meta.get("publisher"):
                # A site's name as a page gives it ("Ofsted. enquiries@ofsted.gov.uk"): the name, not the address.
                meta["publisher"] = re.sub(r"\S+@\S+", "", str(meta["publisher"])).strip(" .,;|-") or None
            meta["authors"] = list(authorship.authors)
            if authorship.origin:
                provenance["authors"] = authorship.origin
            if authorship.rejected:
                provenance["authors_rejected"] = "; ".join(authorship.rejected)
            if sidecar.get("notes"):
                meta["notes"] = sidecar["notes"]
            if sidecar.get("licence"):
                meta["licence"] = str(sidecar["licence"])
            if sidecar.get("original_gone"):
                gone = sidecar["original_gone"]
                meta["original_gone"] = {"last_seen": _iso_date(gone["last_seen"]),
                                         "noticed": _iso_date(gone.get("noticed") or gone["last_seen"]),
                                         "reason": str(gone.get("reason") or "")}
            if rejected:
                provenance["title_rejected"] = rejected
            meta["provenance"] = provenance
            # A record of a test collection keeps its own id, so that run files name documents as the qrels do.
            meta["source_id"] = str(meta["external_id"]) if meta.get("external_id") else source_id_for(source)
            resolved.append(Document(content=doc.content, meta=meta))
        return {"documents": resolved, "failures": failures}
