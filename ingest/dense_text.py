"""The text the embedding model reads for a passage: ``"title text"`` when its source has a real title.

all-MiniLM-L6-v2 was trained on short texts whose topic is stated; a passage from the middle of a
report often never names its subject, which the title does. Measured in docs/ranking.md ("Dense: as
good as the plain model"). A title that is not real (a placeholder such as a test collection's
``"<folder> <id>"``, a file name) is never embedded: it would pull every passage towards words no
one searches for.

Usage::

    dense_text("Placements were stable ...", "Fostering in England")   # 'Fostering in England Placements ...'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# "title text", as sentence-transformers and BEIR encode a titled document; "title: text" scored the same
# (cisi nDCG@10 0.4161 and 0.4160, docs/ranking.md).
SEPARATOR = " "
# Where a title came from (ingest/metadata.py provenance) when it was written by a person for the document.
REAL_TITLE_ORIGINS = frozenset({"sidecar", "template", "embedded", "text"})


def dense_text(text: str, title: str | None, separator: str = SEPARATOR) -> str:
    """``title + separator + text``, or the text alone when there is no title or the text already opens with it."""
    title = " ".join((title or "").split())
    if not title or text.lstrip().lower().startswith(title.lower()):
        return text
    return f"{title}{separator}{text}"


def real_title(meta: Mapping[str, Any]) -> str:
    """The source's title when a person wrote it, else "" (a placeholder, or a file name chosen by default)."""
    if meta.get("title_placeholder"):
        return ""
    origin = (meta.get("provenance") or {}).get("title")
    return str(meta.get("title") or "") if origin in REAL_TITLE_ORIGINS else ""
