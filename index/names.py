"""Names as metadata writes them: whether one is a person's, an organisation's, or neither (software, an account, a
file name). The ingest uses it to decide who a source's authors are (``ingest/authors.py``); the web app to write
a reference (a corporate author is not a person surnamed "Education").

Usage::

    kind_of("Acton, Faye")                  # ("person", "a person's name")
    kind_of("Department for Education")     # ("organisation", "an organisation's name")
    kind_of("Scanning Station")             # (None, "a software, device or account name, not an author")
"""

from __future__ import annotations

import re

# Names that are software, devices, accounts or placeholders, never a writer.
SOFTWARE = re.compile(
    r"\b(scann(ing|er)|scanning station|microsoft|ms word|adobe|acrobat|indesign|distiller|pdf|printer|windows|"
    r"mac ?os|quartz|libreoffice|openoffice|canon|xerox|ricoh|konica|epson|kyocera|hewlett|lexmark|"
    r"administrat(or|ion)|admin|user|owner|author|unknown|guest|template|helpdesk|desktop|laptop|computer|"
    r"enquiries|gov uk|www|http)\b",
    re.IGNORECASE)
# Words that make a name an organisation's.
ORGANISATION = re.compile(
    r"\b(department|ministry|office|council|borough|county|agency|authority|government|service|services|"
    r"trust|foundation|university|college|school|institute|institution|association|society|centre|center|"
    r"commission|board|partnership|network|consortium|group|team|unit|company|limited|ltd|plc|llp|inc|"
    r"ofsted|nhs|charity|alliance|federation|committee|directors|research|insight|finance|programme|project|"
    r"department for|children[’']?s|national|bureau|cafcass|barnardo[’']?s|nspcc|economics)\b",
    re.IGNORECASE)


def name_word(word: str) -> bool:
    """A word of a person's name: a capital, then letters (any script's: "Zoë", "Álvarez"), with hyphens or
    apostrophes between parts ("Thomson-Jones", "O’Brien", "McInerney"), and some lower case (not "ICHANDA")."""
    parts = re.split(r"[-'’]", word)
    return word[:1].isupper() and all(p.isalpha() for p in parts) and any(c.islower() for c in word)

HONORIFIC = re.compile(r"^(?:dr|prof|professor|mr|mrs|ms|miss|sir|dame|lord|lady|rt hon|cllr)\.?\s+",
                        re.IGNORECASE)
ACRONYM = re.compile(r"^[A-Z][A-Za-z]{1,7}$")


def normal_name(name: str) -> str:
    """'Acton, Faye' → 'Faye Acton'; spaces collapsed, honorifics and trailing post-nominals ('MP') kept out."""
    value = " ".join(name.replace("\x00", "").split()).strip(" ;,")
    if value.count(",") == 1:
        surname, given = (p.strip() for p in value.split(","))
        if surname and given and len(surname.split()) <= 2 and len(given.split()) <= 2:
            value = f"{given} {surname}"
    value = HONORIFIC.sub("", value)
    value = re.sub(r"\s+(?:MP|MBE|OBE|CBE|PhD|QC|KC)$", "", value)
    return value


def kind_of(name: str) -> tuple[str | None, str]:
    """("person" | "organisation" | None, why) for a name as written in metadata."""
    value = normal_name(name)
    if not value:
        return None, "empty"
    if "@" in value or "/" in value or "\\" in value or re.search(r"\d", value):
        return None, "an account or file name, not a person's or organisation's name"
    if SOFTWARE.search(value):
        return None, "a software, device or account name, not an author"
    if ORGANISATION.search(value):
        return "organisation", "an organisation's name"
    words = value.split()
    if len(words) == 1:
        if (ACRONYM.match(value) and sum(c.isupper() for c in value) >= 2 and not value.isupper()) or (
                value.isupper() and 2 <= len(value) <= 5):
            return "organisation", "an organisation's initials"
        return None, "a user name or single word, not a person's full name"
    if all(name_word(w) or re.fullmatch(r"[A-Z]\.?", w) for w in words) and 2 <= len(words) <= 4:
        if sum(name_word(w) for w in words) < 2:
            return None, "initials, not a person's full name"
        return "person", "a person's name"
    return None, "not written as a person's name"
