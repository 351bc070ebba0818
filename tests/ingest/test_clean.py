"""Boilerplate rules are general: tested on invented pages, not on the sample files."""

import pytest

from ingest.clean import clean_text, ends_article, is_chrome, normalise

pytestmark = pytest.mark.unit

ARTICLE = "Councils in the north trialled family group conferencing for teenagers at risk of care."


@pytest.mark.parametrize("line", [
    "Share this:", "Tweet", "Like this:", "Loading...", "Twitter picture", "Facebook photo", "Sign in", "Log in here",
    "Already have an account? Sign in here", "Tags : social work, innovation", "Categories: News",
    "| Home | About us | Contact |", "Home > News > Children's services", "Skip to main content", "Show more",
    "Read more »", "Read: The full evaluation", "To read at source: Another title",
    "The post Something happened appeared first on Some Site.", "Posted by Jane Smith at 09:30",
    "You are commenting using your WordPress.com account. Log Out / Change )", "Connecting to %s",
    "This site uses Akismet to reduce spam. Learn how your comment data is processed.", "-", "•", "12 Comments",
    "Photo credit: someone via Flickr",
])
def test_chrome_lines(line):
    assert is_chrome(line)


@pytest.mark.parametrize("line", [
    ARTICLE, "Read the report to find out what worked in Leeds.", "Tags are a problem for search engines.",
    "Home visits | what works | a review of the evidence from twelve councils and their partners",
    "Written by the practice lead, this guide sets out the model.",
])
def test_content_lines_stay(line):
    assert not is_chrome(line)
    assert not ends_article(line)


@pytest.mark.parametrize("marker", [
    "Register Now to Continue Reading", "Subscribe to keep reading", "To continue reading, please log in",
    "This article is only available to subscribers", "Leave a Reply", "COMMENTS can be added here.",
    "Fill in your details below or click an icon to log in: Logo",
])
def test_paywall_and_comment_forms_end_the_article(marker):
    raw = f"Title\n\n{ARTICLE}\n{marker}\nWhy not register today and enjoy these great benefits:\nFree access\n"
    cleaned, removed = clean_text(raw)
    assert cleaned == f"Title\n\n{ARTICLE}"
    assert removed == 3


def test_photo_credit_glued_to_heading_is_cut():
    cleaned, _ = clean_text("photo-credit_-someone-via-foter-com-_-cc-by-nc-ndADCS Jane Doe on reform\n" + ARTICLE)
    assert cleaned.startswith("ADCS Jane Doe on reform")


def test_normalise_whitespace_and_controls():
    assert normalise("a\u00a0 b\x07\r\nc  \t d \ufeff") == "a b\nc d"


def test_blank_runs_collapse():
    cleaned, _ = clean_text("one\n\n\n\n\ntwo\n\n")
    assert cleaned == "one\n\ntwo"
