"""Who wrote a source, from evidence: a name in a file's metadata is an author only when the text says so.

A PDF's ``Author``, a Word file's ``creator`` or an HTML page's ``author`` meta is usually whoever
last saved the file (an administrator, an inspector's assistant, a scanner's name), not the
writer. So a *person* named there becomes an author only when the text itself names that person
as one (:func:`byline_evidence`: a byline, "Written by", "Lead inspector:", an "Authors" heading);
an *organisation* named there is the corporate author (the publisher) when the text names it;
software and scanner names, user names and initials never are. A publisher template
(``ingest/templates``) vouches for its own fields and overrides all of this.

Usage::

    verdicts = judge_names(["Alison Williamson", "Department for Education"], raw_text)
    [v.name for v in verdicts if v.accepted_as == "person"]   # []
    verdicts[0].reason   # "not named as an author in the text"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.names import kind_of, normal_name

# A line (or the heading above it) that states authorship.
_AUTHOR_CUE = re.compile(
    r"\b(?:(?:written|prepared|compiled|authored|produced|edited|researched|posted|published)\s+by|by|"
    r"authors?|report authors?|lead (?:inspector|author|researcher|evaluator)|inspectors?|editors?|"
    r"research team|evaluation team|contributors?)\b\s*:?", re.IGNORECASE)
# Headings under which a name is a foreword's or an interviewee's, not the document's writer.
_NOT_AUTHOR_CUE = re.compile(r"\b(?:foreword|preface|introduction by|acknowledg(?:e)?ments?|thanks?|"
                             r"references?|bibliography)\b", re.IGNORECASE)


@dataclass(frozen=True)
class NameVerdict:
    """What one name from a file's metadata is taken for, and why.

    ``accepted_as`` is ``"person"`` (an author), ``"organisation"`` (the corporate author) or None
    (rejected, ``reason`` says why).
    """

    name: str
    accepted_as: str | None
    reason: str


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _name_pattern(name: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in name.split()]
    return re.compile(r"(?<!\w)" + r"[\s.]+".join(words) + r"(?!\w)", re.IGNORECASE)


def byline_evidence(name: str, text: str) -> str | None:
    """The line of ``text`` that names ``name`` as its author, or None.

    A line holding the name counts when it, or one of the two lines above it, states authorship
    ("Written by", "Authors:", "Lead inspector:", "By ...") and none of them is a foreword's or
    acknowledgements' heading, or when the name stands alone on a line of the title page (the first
    40 lines) not under such a heading.
    """
    pattern = _name_pattern(normal_name(name))
    lines = _lines(text)
    for index, line in enumerate(lines):
        found = pattern.search(line)
        if not found:
            continue
        above = lines[max(0, index - 2): index]
        context = [*above, line]
        if any(_NOT_AUTHOR_CUE.search(c) for c in context):
            continue
        # A name in a list of references ("Baginsky, M., Manthorpe, J. (2024)") is a cited author.
        if re.search(r"\(\d{4}\)|\bet al\b|\d{4}[a-z]?\)", line):
            continue
        cue = _AUTHOR_CUE.search(line[: found.start()])
        # A bare "by" is a byline only on a short line ("By Jane Smith"), not in a sentence ("funded by ...").
        if cue and cue.group().strip(" :").lower() == "by" and len(line) > 80:
            cue = None
        if cue or any(_AUTHOR_CUE.fullmatch(a.rstrip(":").strip()) or
                                                             re.match(r"^(?:authors?|written by|by)\s*:?$", a, re.I)
                                                             for a in above):
            return line[:200]
        if index < 40 and len(line) <= len(found.group()) + 30:
            return line[:200]
    return None


def named_in(name: str, text: str) -> bool:
    """Whether the text names this organisation at all (its full name or its initials)."""
    return _name_pattern(normal_name(name)).search(text) is not None


def expand_initials(initials: str, text: str) -> str | None:
    """The full name an organisation's initials stand for, as the text defines it ("Department for
    Education (DfE)"), or None."""
    for match in re.finditer(r"((?:[A-Z][\w’'&-]*\s+|(?:for|of|and|the|&)\s+){1,8})\(" + re.escape(initials) + r"\)",
                             text):
        words = match.group(1).split()
        capitals = [w for w in words if w[0].isupper()]
        wanted = [c for c in initials if c.isupper()]
        if len(capitals) >= len(wanted) and [w[0] for w in capitals[-len(wanted):]] == wanted:
            first = len(words) - next(i for i, w in enumerate(reversed(words), 1)
                                      if w == capitals[-len(wanted)])
            return " ".join(words[first:])
    return None


def judge_names(names: list[str], text: str, stated_by: str | None = None) -> list[NameVerdict]:
    """The verdict on each name a file's metadata gives as its author, against the file's raw text.

    :param stated_by: where the format itself states each name as the byline (a feed entry's
        ``author``, shown by feed readers as the post's byline); a person's name is then accepted
        without a byline in the text, while software and account names are still refused.
    """
    verdicts = []
    for raw in names:
        name = normal_name(raw)
        kind, why = kind_of(raw)
        if kind is None:
            verdicts.append(NameVerdict(raw, None, why))
        elif kind == "organisation":
            if named_in(name, text):
                full = expand_initials(name, text) if " " not in name else None
                verdicts.append(NameVerdict(full or name, "organisation", "the text names this organisation"))
            else:
                verdicts.append(NameVerdict(raw, None, "an organisation the text does not name"))
        elif stated_by:
            verdicts.append(NameVerdict(name, "person", f"the byline {stated_by} states"))
        elif (line := byline_evidence(name, text)) is not None:
            verdicts.append(NameVerdict(name, "person", f"named as author in the text: {line[:80]!r}"))
        else:
            verdicts.append(NameVerdict(raw, None, "a person the text does not name as an author "
                                                   "(usually whoever last saved the file)"))
    return verdicts
