"""The leaders' pages that count sources and the pages a public service owes its users, in Chromium: zero
axe-core WCAG 2.2 A/AA violations with JavaScript and without it, one h1 and ordered headings, and reached
from the footer by keyboard."""

from __future__ import annotations

import itertools

import pytest

from tests.browser.conftest import axe_violations, without_scripts
from webapp.gaps import MIN_COUNT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = {
    "status": "/status",
    "accessibility statement": "/accessibility",
    "privacy notice": "/privacy",
    "gaps": "/gaps",
    "council through a project": "/councils/windsor-and-maidenhead",
    "council chart": "/councils/kingston-upon-thames",
    "themes chart with undated sources": "/themes",
    "theme with an undated source": "/themes/legislation-regulation",
    "project chart and related": "/projects/signs-of-safety",
}

HEADINGS = "() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => Number(h.tagName[1]))"


@pytest.fixture(scope="module")
def searched_gaps(browser, live_server):
    """A search that finds nothing, made often enough that /gaps lists it."""
    context = browser.new_context()
    page = context.new_page()
    for _ in range(MIN_COUNT):
        page.goto(live_server + "/search?q=%22zebra+quantum+browser%22")
    context.close()



@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_page_is_accessible_with_and_without_javascript(browser, live_server, searched_gaps, name, javascript):
    context = browser.new_context()
    page = context.new_page()
    try:
        url = live_server + PAGES[name]
        if not javascript:
            page.route(url, without_scripts)
        page.goto(url)
        assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')") == javascript
        levels = page.evaluate(HEADINGS)
        assert levels.count(1) == 1 and levels[0] == 1, levels
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
        violations = axe_violations(page)
        assert violations == [], "\n".join(violations)
        if name == "gaps":
            assert page.get_by_role("link", name="zebra quantum browser (search again)").count() == 1
    finally:
        context.close()


@pytest.mark.parametrize("link, heading", [
    ("Accessibility statement", "Accessibility statement for this service"),
    ("Privacy", "Privacy notice"),
    ("Service status", "Service status"),
    ("What people search for and do not find", "What people search for and do not find"),
])
def test_footer_links_reach_the_service_pages_by_keyboard(page_no_js, live_server, link, heading):
    page = page_no_js
    page.goto(live_server + "/")
    target = page.locator(".govuk-footer").get_by_role("link", name=link, exact=True)
    href = target.get_attribute("href")
    target.focus()
    page.keyboard.press("Enter")
    # Wait for the navigation itself: the load state of the page being left is already "loaded".
    page.wait_for_url(live_server + href)
    assert page.locator("h1").inner_text() == heading
