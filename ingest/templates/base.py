"""What a publisher template module gives back, and helpers the template modules share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from index.records import Inspection
from index.search.facets import slugify


@dataclass(frozen=True)
class TemplateMatch:
    """Metadata a publisher's template states more reliably than the file's embedded metadata."""

    template: str
    publisher: str
    type: str
    title: str
    date: str | None = None
    url: str | None = None
    inspection: Inspection | None = None
    # Persons the template vouches for as authors; none means the publisher is the corporate author.
    authors: tuple[str, ...] = ()


def council_named(text: str) -> str | None:
    """The council's canonical name (``ingest/data/local_authorities.csv``) for a name as a report writes it."""
    written = " ".join(text.split())
    direct = _known(written)
    if direct:
        return direct
    name = re.sub(r"^(?:the\s+)?(?:London|Royal)\s+Borough\s+of\s+|^(?:the\s+)?City\s+of\s+|^Council\s+of\s+"
                  r"(?:the\s+)?|^the\s+", "", written, flags=re.I)
    name = re.sub(r"(?:\s+(?:Metropolitan|City|County|Borough|District|Council|of))+$", "", name, flags=re.I)
    return _known(name)


@cache
def _names() -> dict[str, str]:
    """Slug of every council's name and alias → its canonical name (the first council wins a shared slug)."""
    from ingest.councils import authorities

    names: dict[str, str] = {}
    for authority in authorities():
        for written in (authority.name, *authority.aliases):
            names.setdefault(slugify(written), authority.name)
    return names


def _known(name: str) -> str | None:
    return _names().get(slugify(name))


def iso_date(text: str) -> str | None:
    """'27 September 2021' → '2021-09-27' (day first, as Ofsted and the DfE write dates); None if not a date."""
    from ingest.extract import parse_date

    return parse_date(" ".join(text.split()))
