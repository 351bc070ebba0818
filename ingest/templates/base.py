"""What a publisher template module gives back, and helpers the template modules share."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.facets import slugify
from index.records import Inspection


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


def council_named(text: str) -> str | None:
    """The council's canonical name (``ingest/data/local_authorities.csv``) for a name as a report writes it."""
    direct = _known(" ".join(text.split()))
    if direct:
        return direct
    name = re.sub(r"^(?:the\s+)?(?:London|Royal)\s+Borough\s+of\s+|^(?:the\s+)?City\s+of\s+|^Council\s+of\s+"
                  r"(?:the\s+)?|^the\s+", "", " ".join(text.split()), flags=re.I)
    direct = _known(" ".join(text.split()))
    if direct:
        return direct
    name = re.sub(r"(?:\s+(?:Metropolitan|City|County|Borough|District|Council|of))+$", "", name, flags=re.I)
    return _known(name)


def _known(name: str) -> str | None:
    from ingest.tagging import authorities

    wanted = slugify(name)
    for authority in authorities():
        if wanted in {slugify(authority.name), *(slugify(a) for a in authority.aliases)}:
            return authority.name
    return None


def iso_date(text: str) -> str | None:
    """'27 September 2021' → '2021-09-27' (day first, as Ofsted and the DfE write dates); None if not a date."""
    from ingest.extract import parse_date

    return parse_date(" ".join(text.split()))
