"""Source metadata: sidecar file > metadata embedded in the file > what the text says > defaults.

Each source records where each value came from (``meta["provenance"]``), and gets a stable id
derived from where it came from (its path as ingested, or its URL).
"""

from __future__ import annotations

import hashlib
import json
import logging
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
    return data


def _iso_date(value: Any) -> str | None:
    """YYYY-MM-DD from a date, datetime or ISO string (sources are dated to the day)."""
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        from ingest.extract import parse_date

        return parse_date(text)


def _title_from_text(text: str) -> str | None:
    for line in text.split("\n"):
        line = line.strip().strip('"“”‘’\'')
        if 3 <= len(line) <= 200 and len(line.split()) >= 2:
            return line
    return None


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
            meta["provenance"] = provenance
            # A record of a test collection keeps its own id, so that run files name documents as the qrels do.
            meta["source_id"] = str(meta["external_id"]) if meta.get("external_id") else source_id_for(source)
            resolved.append(Document(content=doc.content, meta=meta))
        return {"documents": resolved, "failures": failures}
