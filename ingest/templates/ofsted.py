"""Ofsted's inspections of local authority children's services, in both frameworks' layouts.

* ILACS (2018 on): "Inspection of Dorset local authority children's services", "Inspection dates:
  27 September to 8 October 2021", "Lead inspector: …", then a judgement table (area, grade) ending
  with "Overall effectiveness Good".
* The single inspection framework (SIF, 2013–2017): the council's name, "Inspection of services for
  children in need of help and protection, children looked after and care leavers", "Inspection
  date: 18 November 2014 - 10 December 2014", "Report published: 3 February 2015", "The overall
  judgement is that children's services require improvement", then numbered judgements.

Grades are Ofsted's words: outstanding, good, requires improvement (ILACS says "requires
improvement to be good"), inadequate. Judgement areas get one key across both frameworks, the
keys of Ofsted's own overview data (``impact_of_leaders``, ``help_and_protection``, ``in_care``,
``care_leavers``; SIF's "leadership, management and governance" is its ``impact_of_leaders``, and
ILACS 2018–2023's joint "children in care and care leavers" is ``in_care``), while ``label``
keeps the report's wording.
"""

from __future__ import annotations

import re
from pathlib import Path

from index.records import Inspection, Judgement
from ingest.councils import overview
from ingest.templates.base import TemplateMatch, council_named, iso_date

PUBLISHER = "Ofsted"
# Over the title block (the text before "Inspection date(s):", lines joined):
TITLES = (
    # ILACS 2020 on: "Inspection of Dorset local authority children's services"
    ("ILACS", re.compile(r"Inspection of (?:the )?(?P<council>.{2,90}?)(?: local authority)? children[’']s services")),
    # ILACS 2018–2020: "London Borough of Barnet Inspection of (local authority) children's (social care) services"
    ("ILACS", re.compile(r"^(?:\d+ )?(?P<council>.{2,90}?) Inspection of (?:local authority )?children[’']s "
                         r"(?:social care )?services")),
    # SIF 2013–2018: "Halton Inspection of services for children in need of help and protection, ..."
    ("SIF", re.compile(r"^(?:\d+ )?(?P<council>.{2,90}?) (?:Re-?)?[Ii]nspection of services for children in need")),
)
GRADE = r"(?:Outstanding|Good|Requires\s+[Ii]mprovement(?:\s+to\s+be\s+good)?|Inadequate)"
_MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"

# (pattern over the judgement's wording, key) — the first that matches names the area.
AREAS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.I), key) for p, key in (
    (r"overall effectiveness|overall judgement", "overall_effectiveness"),
    (r"impact of leaders|leadership, management and governance", "impact_of_leaders"),
    (r"need help and protection", "help_and_protection"),
    (r"adoption performance", "adoption"),
    (r"^(?:the experiences and progress of )?care leavers|experiences and progress of care leavers",
     "care_leavers"),
    (r"children in care|children looked after", "in_care"),
))


# A council's inspections on Ofsted's site, from its URN (the link when the report is not the latest one).
PROVIDER_PAGE = "https://reports.ofsted.gov.uk/provider/44/{urn}"


def original_url(council: str, published: str | None) -> str | None:
    """The report on Ofsted's site if it is the council's latest, else the council's page of inspections."""
    row = overview().get(council)
    if row is None:
        return None
    if published and row["latest_published"] == published and row["latest_link"].startswith("https://"):
        return row["latest_link"]
    return PROVIDER_PAGE.format(urn=row["urn"]) if row["urn"].isdigit() else None


def grade_word(text: str) -> str:
    """'Requires improvement to be good' → 'requires improvement'; 'Good' → 'good'."""
    words = " ".join(text.split()).lower()
    return "requires improvement" if words.startswith("requires improvement") else words


def _area(label: str) -> str | None:
    return next((key for pattern, key in AREAS if pattern.search(label)), None)


def _judgements(table: str) -> tuple[Judgement, ...]:
    found: dict[str, Judgement] = {}
    flat = " ".join(table.split())
    for match in re.finditer(rf"(?P<label>[A-Za-z][A-Za-z ,’'()-]{{5,120}}?)\s+(?P<grade>{GRADE})\b", flat):
        label = re.sub(r"^(?:\d+(?:\.\d+)?\.?\s+)", "", match["label"].strip())
        key = _area(label)
        if key and key not in found:
            found[key] = Judgement(key, label, grade_word(match["grade"]))
    return tuple(found.values())


def _dates(text: str) -> tuple[str | None, str | None]:
    """Start and end of 'Inspection dates: 27 September to 8 October 2021' (or '11 to 15 September 2023',
    '18 November 2014 - 10 December 2014')."""
    match = re.search(r"Inspection dates?:\s*(?P<span>[^\n]{6,80})", text)
    if not match:
        return None, None
    # Visits in two parts ("8 July 2019 to 12 July 2019 and 7 August 2019 to 8 August 2019"): first start, last end.
    span = match["span"].replace("–", " - ").strip()
    if " and " in span:
        first, last = span.split(" and ", 1)
        last = last if re.search(r"\d{4}\s*$", last) else last + " " + text[match.end():].split("\n", 2)[1]
        return _dates_of(first)[0], _dates_of(last)[1]
    return _dates_of(span)


def _dates_of(span: str) -> tuple[str | None, str | None]:
    parts = re.split(r"\s+(?:to|-)\s+", span, maxsplit=1)
    if len(parts) != 2:
        return iso_date(span), None
    start, end = parts
    end_date = iso_date(end)
    if end_date and not re.search(r"\d{4}", start):
        # "11 to 15 September 2023": the start borrows the end's month and year; "27 September to ...": its year
        start = f"{start} {end_date[:4]}" if re.search(_MONTHS, start) else f"{start} {end.split(None, 1)[1]}"
    return iso_date(start), end_date


def _published(text: str, path: str) -> str | None:
    match = re.search(r"Report published:\s*([^\n]{6,40})", text)
    if match and (found := iso_date(match[1])):
        return found
    # Ofsted's file names in the collection end with the publication date: dorset_2021-11-19.pdf
    named = re.search(r"_(\d{4}-\d{2}-\d{2})$", Path(path.split("#", 1)[0]).stem)
    return named[1] if named else None


def _lead_inspector(text: str) -> str | None:
    """The lead inspector the report names: under its title in ILACS reports, in "The inspection team"
    at the end of SIF reports ("Lead inspector: Nick Stacey"; never the deputy lead inspector), "Reporting
    inspector" in 2013's inspections of services for looked after children."""
    match = re.search(r"(?<![Dd]eputy )Lead inspectors?:\s*([^\n]{3,200})", text)
    if match is None:  # the 2013 looked-after children inspections: "Reporting inspector Helen Cawston HMI"
        match = re.search(r"Reporting inspector:?\s+([A-Z][^\n]{2,80})$", text, re.M)
    if match is None:
        return None
    # "Rebecca Quested, His Majesty’s Inspector, and Matthew Reed, His Majesty’s Inspector" → both names
    named = re.sub(r",?\s*(?:(?:His|Her) Majesty[’']s Inspector|HMI)\b", "", match[1])
    names = [" ".join(n.split()) for n in re.split(r",\s*(?:and\s+)?|\s+and\s+", named) if n.strip()]
    return " and ".join(names[:3]) or None


def _council(title_block: str, path: str) -> tuple[str, str] | None:
    """(framework, council) from the title block; the file's name (Ofsted's own name for the council) when
    the title's wording of the name is not one the council list knows ("East Riding")."""
    for framework, pattern in TITLES:
        found = pattern.search(title_block)
        if found:
            council = council_named(found["council"])
            if council is None:
                stem = Path(path.split("#", 1)[0]).stem
                council = council_named(stem.split("_", 1)[0].replace("-", " "))
            return (framework, council) if council else None
    return None


def match(text: str, path: str) -> TemplateMatch | None:
    """The inspection this text reports, if it is an Ofsted inspection of children's services."""
    head = "\n".join(line.strip() for line in text[:8000].replace("\r", "").split("\n"))
    cut = re.search(r"Inspection dates?:", head)
    if cut is None or cut.start() > 600:
        return None
    found = _council(" ".join(head[: cut.start()].split()), path)
    if found is None:
        return None
    framework, council = found
    if framework == "ILACS":
        table_start = head.find("Judgement")
        overall = re.search(rf"Overall effectiveness\s+{GRADE}", head)
        table = head[table_start: overall.end()] if table_start >= 0 and overall else ""
    else:
        overall = re.search(r"(?:overall judgement is(?: that children[’']s services)?|Children[’']s services in "
                            r"[^\n]{2,60}?)\s+(?:are\s+|is\s+|requires?\s+)?(?:improvement|"
                            r"(?P<grade>outstanding|good|inadequate))", head, re.I | re.S)
        end = head.find("Contents")
        table = head[: end if end > 0 else 3000]
        if overall:
            table += f" Overall judgement {(overall['grade'] or 'requires improvement').capitalize()}"
    start, end_date = _dates(head)
    published = _published(head, path)
    inspection = Inspection(council=council, framework=framework, start=start, end=end_date, published=published,
                            lead_inspector=_lead_inspector(head) or _lead_inspector(text.replace("\r", "")),
                            judgements=_judgements(table))
    year = (published or end_date or start or "")[:4]
    title = f"Inspection of {council} local authority children’s services" + (f", {year}" if year else "")
    # Ofsted is the corporate author: an inspection is Ofsted's judgement, whoever led it (the lead
    # inspector is named as such, from the report's own text; never from the file's metadata).
    return TemplateMatch(template="ofsted-inspection", publisher=PUBLISHER, type="inspection", title=title,
                         date=published, url=original_url(council, published), inspection=inspection)
