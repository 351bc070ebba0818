"""BEIR-format test collections (``corpus.jsonl``: one ``{"_id", "title", "text"}`` per line).

Each line becomes its own source, ``<path>#<_id>``, whose document id is the record's ``_id``
exactly, so that a TREC run file written by ``kb search --queries`` names documents as the
collection's qrels do (``kb eval``, ``eval/``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.converters.base import FileConverter, decode_text
from ingest.failures import ConversionError
from ingest.formats import Format, register

logger = logging.getLogger(__name__)


@component
class BeirConverter(FileConverter):
    """BEIR corpus.jsonl (a Haystack component): one source per line, ``external_id`` = the line's ``_id``."""

    format_name = "beir"

    def convert(self, path: Path, data: bytes) -> list[Document]:
        documents = []
        bad: list[int] = []
        seen: set[str] = set()
        repeated = 0
        # split("\n"), not splitlines(): JSON strings may hold U+2028 and other line separators.
        for number, line in enumerate(decode_text(data).split("\n"), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc_id, text = str(row["_id"]), str(row.get("text") or "")
            except (ValueError, KeyError, TypeError):
                bad.append(number)
                continue
            if not text.strip():
                continue
            if doc_id in seen:
                repeated += 1
                continue
            seen.add(doc_id)
            title = " ".join(str(row.get("title") or "").split())
            meta: dict[str, Any] = {"source": f"{path}#{doc_id}", "external_id": doc_id,
                    "embedded": {"title": title or f"{path.parent.name} {doc_id}", "type": "other"}}
            if not title:
                # A name to list the record under, not a title: it is never searched or embedded
                # (ingest/split.py, ingest/dense_text.py).
                meta["title_placeholder"] = True
            documents.append(Document(content=text, meta=meta))
        if not documents:
            raise ConversionError("the collection has no records", "check that it is a BEIR corpus.jsonl")
        if repeated:
            logger.warning("%s: %d records repeat an _id already seen; the first of each was kept", path, repeated)
        if bad:
            logger.warning("%s: skipped %d lines that are not BEIR records (first: line %d)", path, len(bad), bad[0])
        return documents


register(Format("beir", (".jsonl",), sniff=None, converter=BeirConverter))
