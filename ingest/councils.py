"""Council reference data, in one place: the English local authorities with children's services (and former
ones, and groupings such as "Tri-borough"), Ofsted's overview of each council, and the details the browse pages
read (``councils.json``). The tagger (:mod:`ingest.tagging`), the publisher templates (:mod:`ingest.templates`)
and the projects catalogue read it from here.

Usage::

    {a.name for a in authorities()}          # "Hackney", "North Yorkshire", ...
    overview()["Hackney"]["latest_published"]
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from index.records import CouncilDetails, SourceRecord


@dataclass(frozen=True)
class Authority:
    name: str
    type: str
    region: str
    aliases: tuple[str, ...]
    ambiguous: bool
    former: bool
    successors: tuple[str, ...]


def _data(name: str) -> str:
    return resources.files("ingest").joinpath("data", name).read_text(encoding="utf-8")


@cache
def authorities() -> tuple[Authority, ...]:
    rows = csv.DictReader(_data("local_authorities.csv").splitlines())
    return tuple(Authority(r["name"], r["type"], r["region"], tuple(a for a in r["aliases"].split(";") if a),
                           r["ambiguous"] == "yes", r["former"] == "yes",
                           tuple(s for s in r["successors"].split(";") if s)) for r in rows)


@cache
def groups() -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    rows = csv.DictReader(_data("local_authority_groups.csv").splitlines())
    return tuple((r["name"], tuple(a for a in r["aliases"].split(";") if a), tuple(r["members"].split(";")))
                 for r in rows)


@cache
def overview() -> dict[str, dict[str, str]]:
    """Ofsted's overview of each council (``ingest/data/ofsted_councils.csv``, from its spreadsheet), by name."""
    text = resources.files("ingest").joinpath("data", "ofsted_councils.csv").read_text(encoding="utf-8")
    return {row["council"]: row for row in csv.DictReader(text.splitlines())}


def council_details(records: Iterable[SourceRecord], lead_councils: Iterable[str]) -> dict[str, CouncilDetails]:
    """Type and region of every council the sources name, inspect or projects lead, for the browse pages
    (the web app does not read ingest's data files); with, from Ofsted's overview, its statistical
    neighbours and its latest inspection (``"ofsted": {"published", "overall_effectiveness"}``). The
    neighbours get an entry too, so a council's page can show how each was last judged."""
    named = {name for record in records if not record.duplicate_of for name in record.council_names}
    named.update(record.inspection.council for record in records if record.inspection and not record.duplicate_of)
    named.update(lead_councils)
    rows = overview()
    neighbours = {name: [n.strip() for n in rows[name]["statistical_neighbours"].split(";") if n.strip()]
                  for name in named if name in rows}
    wanted = named | {n for names in neighbours.values() for n in names}
    known = {a.name: a for a in authorities()}
    details: dict[str, CouncilDetails] = {}
    for name in sorted(wanted):
        if name not in known and name not in rows:
            continue
        judged = name in rows and bool(rows[name]["latest_published"])
        details[name] = CouncilDetails(
            type=known[name].type if name in known else "", region=known[name].region if name in known else "",
            statistical_neighbours=tuple(neighbours.get(name, ())),
            ofsted_published=rows[name]["latest_published"] if judged else "",
            overall_effectiveness=rows[name]["overall_effectiveness"] if judged else "")
    return details
