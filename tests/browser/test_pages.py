"""Every page type in a real browser: zero axe-core WCAG 2.2 A/AA violations, one h1 and ordered
headings, a working skip link, visible focus, and no JavaScript errors."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.browser.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE_TYPES = {
    "home": "/",
    "results": "/search?q=adolescents+edge+of+care",
    "results filtered": "/search?q=social+work&type=article",
    "results page 2": "/search?q=social+work&page=2",
    "no results": "/search?q=zzzzqqq",
    "search error": "/search?q=",
    "bad parameter": "/search?q=care&page=zero",
    "document": "/documents/{doc}?q=adolescents&passage=1",
    "not found": "/no/such/page",
    "projects": "/projects?theme=practice-models",
    "project": "/projects/reclaiming-social-work",
    "councils": "/councils",
    "council": "/councils/hackney",
    "themes": "/themes",
    "theme": "/themes/practice-models",
    "sources by filter": "/search?mentions=hackney",
}

# Heading levels in document order; the error summary's heading comes before the h1 by GOV.UK's
# design (it must be the first thing read), so it is left out of the order check.
HEADINGS = """() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
    .filter(h => !h.closest('.govuk-error-summary'))
    .map(h => Number(h.tagName[1]))"""


def _document_id(live_server, page) -> str:
    page.goto(f"{live_server}/search?q=adolescents+edge+of+care")
    href = page.locator("ol.app-results h2 a").first.get_attribute("href")
    return href.split("/documents/")[1].split("?")[0]


@pytest.mark.parametrize("name", list(PAGE_TYPES))
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_page_type_is_accessible(browser, live_server, request, name, javascript):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    try:
        path = PAGE_TYPES[name]
        if "{doc}" in path:
            path = path.format(doc=_document_id(live_server, page))
        page.goto(live_server + path)
        levels = page.evaluate(HEADINGS)
        assert levels.count(1) == 1, f"{name}: {levels.count(1)} h1 elements"
        assert levels[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
        if javascript:
            violations = axe_violations(page)
            assert violations == [], "\n".join(violations)
            assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
    finally:
        context.close()


def test_skip_link_and_visible_focus(page, live_server):
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    skip = page.locator(".govuk-skip-link")
    assert page.evaluate("document.activeElement.classList.contains('govuk-skip-link')")
    assert skip.is_visible()
    # GOV.UK focus state: yellow background behind the focused link.
    assert page.evaluate("getComputedStyle(document.activeElement).backgroundColor") == "rgb(255, 221, 0)"
    page.keyboard.press("Enter")
    page.wait_for_url("**/#main-content")
    # From the main content, the next Tab reaches the search box; typing and Enter searches.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type("power to innovate")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=power+to+innovate*")
    assert page.locator("ol.app-results > li").count() == 2
    assert page.js_errors == []


def test_hostile_query_is_shown_not_run(page, live_server):
    page.goto(live_server + "/")
    page.fill("#q", "<script>alert(1)</script> <img src=x onerror=alert(2)>")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))  # the form posts; the answer is the URL of its results
    assert page.dialogs == []
    assert "<script>alert(1)</script>" in page.input_value("#q")
    assert page.locator("script:not([src]):not([nonce])").count() == 0
    assert page.locator("img[src=x]").count() == 0
