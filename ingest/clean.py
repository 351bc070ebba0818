"""Strip web boilerplate from scraped text by general rules (never by naming particular files).

Rules work line by line on normalised text:

* lines that are chrome on any site (share and login buttons, comment-form prompts, tag and
  category lines, navigation bars and breadcrumbs, "read more" links, syndication footers,
  photo credits, lone punctuation) are dropped;
* a paywall prompt ("register to continue reading") or the start of a comment form ends the
  article: it and everything after it are dropped.

Usage::

    cleaned, removed = clean_text(raw)
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from haystack import Document, component

from ingest.failures import Failure
from ingest.publication import (
    FRONT_MATTER_PAGES,
    Vocabulary,
    back_matter_start,
    contents_lines,
    copyright_page,
    tidy_line,
)

_I = re.IGNORECASE

# Everything from one of these lines to the end is paywall or comment-form material.
_END_OF_ARTICLE = [re.compile(p, _I) for p in (
    r"\b(register|subscribe|sign ?up|log ?in|sign ?in)( now| today| free)? (to|and) (continue|keep) reading\b",
    r"\bto (continue|keep) reading,? (please )?(register|subscribe|log ?in|sign ?in)\b",
    r"\bthis (article|content|story) is (only )?(available|for|reserved for) (to )?(subscribers|members)\b",
    r"^(leave a (reply|comment)|post a comment|add a comment|comments? can be added here\.?)\s*:?$",
    r"^fill in your details below or click an icon to log in",
)]

# The heading of a block of teasers for other articles. In the second half of a page it ends the
# article (the rest is teasers); earlier it is an inline box and only the heading line is dropped.
_TEASER_HEADING = [re.compile(p, _I) for p in (
    # a block of teasers for other articles: a short heading, then links to elsewhere
    r"^(see more|don'?t miss|more (stories|news|from [\w .'’-]{2,40}|in [\w .'’-]{2,30}|on this story)|"
    r"other [\w '’-]{0,30}(columns|stories|articles|news|blogs)|you (may|might) (also )?(like|enjoy)|"
    r"recommended( for you| stories| reading)?|most (popular|read|viewed|shared)|"
    r"related (content|coverage|stories|articles)|trending( now| stories)?|top stories)\s*[:»›>]*$",
)]

# Whole lines that are site chrome.
_CHROME = [re.compile(p, _I) for p in (
    # comment forms and comment counts
    r"^you are commenting using your\b.*",
    r"^connecting to %s$",
    r"^notify me of (new|follow-up) (comments|posts)\b.*",
    r"^this site uses akismet to reduce spam\b.*",
    r"^\d+ (comments?|responses?|replies)$",
    r"^comments? (are )?closed\.?$",
    r".*\blog ?out\s*/\s*change\s*\)?$",
    # share, login and subscription buttons
    r"^(share|share this|share this (article|post|page|story)|tweet|email|print|pin it|like this|reblog)\s*:?$",
    r"^(like|liked by \d+ people)?\s*loading\.*$",
    r"^(twitter|facebook|google|linkedin|wordpress\.com|instagram) (picture|photo|logo|icon)$",
    r"^(sign in|log ?in|register|subscribe|sign up)( here| now| today)?\.?$",
    r"^already (have an account|a subscriber|registered)\??.*$",
    r"^(forgot|reset) (your )?password\??$",
    # navigation, tags, "read more" links
    r"^(tags?|categories|category|filed under|posted in|topics?)\s*:.{0,200}$",
    r"^(skip to (main )?content|back to top|show more|show less|read more|continue reading|menu|search|"
    r"next post|previous post|related (posts|articles|stories))\s*[»›>.…]*$",
    r"^(read|read more|read storify|to read at source|source|via|see also|watch|listen)\s*:\s*.{0,150}$",
    # syndication footers, bylines with times, photo credits
    r"^the post .{3,300} appeared first on .{2,120}$",
    r"^(written|posted|published) by .{1,80}? at \d{1,2}:\d{2}\s*(am|pm)?$",
    r"^(photo|image|picture|photograph) ?(credit)?\s*:.{0,150}$",
    # invitations to follow the site elsewhere
    r"^(follow|find|like|join) us on\b.{0,120}$",
    r"^(connect with us|stay connected|get our newsletter|sign up (for|to) our newsletter)\b.{0,80}$",
    # lone punctuation and bullets
    r"^[\W_]{1,3}$",
)]

# CMS shortcodes left in exported text: "[button link=... ]", "[/caption]", "[vc_row]".
_SHORTCODE = re.compile(r"\[/?(?:button|caption|gallery|embed|video|audio|playlist|column|one_half|one_third|"
                        r"contact-form(?:-7)?|(?:vc|et_pb|su|fusion|av)_[\w-]+)\b[^\]\n]{0,300}\]"
                        r"|\[[a-z][\w-]*\s+[\w-]+=[\"'][^\]\n]{0,300}\]|\[/[a-z][\w-]*\]", _I)
_PHOTO_CREDIT_PREFIX = re.compile(r"^\S*photo[-_ ]?credit\S*?cc[-_]by(?:[-_](?:nc|nd|sa))*", _I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # form feeds are split off before this
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def normalise(text: str) -> str:
    """NFC, Unix newlines, no control characters, single spaces, no trailing space."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text).replace("\ufeff", "")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def _is_navigation(line: str) -> bool:
    """A bar of short links: 'Home | News | About' or a breadcrumb 'Home > News > Story'."""
    for separator in ("|", " > ", " » ", " › "):
        if line.count(separator.strip()) >= 2:
            parts = [p.strip() for p in line.split(separator.strip())]
            if all(len(p.split()) <= 4 for p in parts):
                return True
    return False


def is_chrome(line: str) -> bool:
    """True for a line that is site chrome rather than content."""
    return _is_navigation(line) or any(p.match(line) for p in _CHROME)


def is_teaser_heading(line: str) -> bool:
    """True for a heading such as "SEE MORE", "Don't miss", "Other Opinion Columns"."""
    return any(p.match(line) for p in _TEASER_HEADING)


def ends_article(line: str) -> bool:
    """True for a paywall prompt or the start of a comment form: nothing after it is the article."""
    return any(p.search(line) for p in _END_OF_ARTICLE)


PAGE_BREAK = "\f"


def clean_text(raw: str) -> tuple[str, int]:
    """Normalise and strip boilerplate; returns the cleaned text and how many lines were removed."""
    text, removed, _ = clean_pages(raw)
    return text, removed


def clean_pages(raw: str) -> tuple[str, int, list[int]]:
    """As :func:`clean_text`, for text whose pages are separated by form feeds (PDF converters). What is not
    the publication (back matter, contents pages, paragraph numbers, footnote marks, words broken in
    table cells: ``ingest/publication.py``) goes too, page by page, before the pages' offsets are counted.

    :returns: the cleaned text (no form feeds), lines removed, and the offset in the cleaned text
        where each page starts (page ``n`` starts at ``starts[n - 1]``).
    """
    kept: list[str] = []
    removed = 0
    page_lines: list[int] = []
    ended = False
    vocabulary = Vocabulary.of(raw)
    pages = [normalise(page).split("\n") for page in raw.split(PAGE_BREAK)]
    back = back_matter_start(pages)
    if back is not None:  # the publisher's back page: not the publication (ingest/publication.py)
        back_page, back_line, column = back
        removed += sum(1 for page in pages[back_page + 1:] for line in page if line)
        removed += sum(1 for line in pages[back_page][back_line:] if line)
        last = [*pages[back_page][:back_line], pages[back_page][back_line][:column].rstrip()]
        pages = [*pages[:back_page], last, *([[""]] * (len(pages) - back_page - 1))]
    for number, lines in enumerate(pages):
        page_lines.append(len(kept))
        if ended:
            continue
        front = number < FRONT_MATTER_PAGES and copyright_page(lines)
        contents = set(range(len(lines))) if front else contents_lines(lines)
        for index, line in enumerate(lines):
            if index in contents and line:
                removed += 1
                continue
            line = tidy_line(line, vocabulary) if line else line
            if not line:
                if kept and kept[-1]:
                    kept.append("")
                continue
            if ends_article(line) or (is_teaser_heading(line) and index >= len(lines) // 2):
                removed += sum(1 for rest in lines[index:] if rest)
                ended = True
                break
            if is_chrome(line) or is_teaser_heading(line):
                removed += 1
                continue
            stripped = _SHORTCODE.sub("", _PHOTO_CREDIT_PREFIX.sub("", line)).strip()
            stripped = " ".join(stripped.split()) if stripped != line else stripped
            if stripped != line:
                removed += 1
                if not stripped:
                    continue
            kept.append(stripped)
        if kept and kept[-1]:
            kept.append("")
    # Offsets of each page's first line in the joined text, before the final strip.
    offsets, position = [], 0
    line_starts = []
    for line in kept:
        line_starts.append(position)
        position += len(line) + 1
    for first_line in page_lines:
        offsets.append(line_starts[first_line] if first_line < len(line_starts) else position)
    joined = "\n".join(kept)
    lead = len(joined) - len(joined.lstrip())
    text = joined.strip()
    starts = [max(0, min(o - lead, len(text))) for o in offsets]
    return text, removed, starts


@component
class BoilerplateCleaner:
    """Clean each document's text (a Haystack component); documents left empty are reported, not passed on.

    Usage::

        BoilerplateCleaner().run(documents=docs)["documents"]
    """

    @component.output_types(documents=list[Document], failures=list[Failure])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        cleaned, failures = [], []
        for doc in documents:
            meta = dict(doc.meta)
            if meta.get("structured"):
                # Converters of structured formats (threads) give normalised text whose unit
                # offsets must stay valid: nothing is removed.
                text, removed = (doc.content or "").strip(), 0
            else:
                text, removed, starts = clean_pages(doc.content or "")
                if PAGE_BREAK in (doc.content or ""):
                    meta["page_starts"] = starts
            if not text:
                failures.append(Failure(meta.get("source", ""), "no text left after removing boilerplate",
                                        "check that the file holds the article's text"))
                continue
            meta["boilerplate_lines_removed"] = removed
            cleaned.append(Document(content=text, meta=meta))
        return {"documents": cleaned, "failures": failures}
