"""Source metadata: sidecar file > metadata embedded in the file > what the text says > defaults.

Each source records where each value came from (``meta["provenance"]``), and gets a stable id
derived from where it came from (its path as ingested, or its URL).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import date
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.discover import sidecar_for
from ingest.failures import Failure

logger = logging.getLogger(__name__)

SOURCE_TYPES = ("report", "inspection", "evaluation", "article", "news", "blog", "storify", "other")
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
_FILE_NAME = re.compile(r"\.(docx?|pdf|pptx?|xlsx?|rtf|odt|indd|tex|dvi|qxp|pages|txt|html?)\s*$", re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"\btemplate\b|^(draft( report)?|untitled( document)?|document\d*|title|presentation|powerpoint presentation|"
    r"slide \d+|report|new document|no title|unknown|none|word document)$", re.IGNORECASE)
_MARKUP = re.compile(r"<%|%>|\{\{|\}\}|::|^\W*$|[\x00-\x1f]")
_DATE_LIKE = re.compile(r"^(last (update|updated|modified)|updated|published|posted|page \d+)\b", re.IGNORECASE)


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


def _script_of(ch: str) -> str:
    import unicodedata

    return unicodedata.name(ch, "?").split(" ", 1)[0]


def _title_from_text(text: str) -> str | None:
    """The first line that reads as a title: short, not a sentence, a date line or a stray label."""
    for line in text.split("\n")[:60]:
        line = line.strip().strip('"“”‘’\'')
        words = line.split()
        if not (3 <= len(line) <= 200 and len(words) >= 2):
            continue
        if _DATE_LIKE.match(line) or _MARKUP.search(line) or title_problem(line):
            continue
        if len(words) > 20 or (len(words) > 12 and line.endswith((".", ":", ";"))):
            continue  # a sentence of the body, not a heading
        return line
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
            template = dict(meta.get("template") or {})
            extracted = {**(meta.pop("extracted", {}) or {}), "title": _title_from_text(doc.content or "")}
            embedded, rejected = _checked_title(embedded)
            defaults = {"title": Path(source).stem, "authors": [], "type": "other", "language": "en"}
            for name in FIELDS:
                for origin, values in (("sidecar", sidecar), ("template", template), ("embedded", embedded),
                                       ("text", extracted), ("default", defaults)):
                    if values.get(name) not in (None, "", []):
                        meta[name] = _iso_date(values[name]) if name == "date" else values[name]
                        provenance[name] = origin
                        break
                else:
                    meta[name] = None
            if meta["authors"] is None:
                meta["authors"] = []
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
