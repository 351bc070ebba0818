"""Issue 14 items 1 and 6 in Chromium: a search that finds nothing says so and suggests, and each result's
"Why this result" opens by keyboard; zero axe-core WCAG 2.2 A/AA violations with JavaScript and without it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, without_scripts

pytestmark = [pytest.mark.browser, pytest.mark.slow]



@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_nothing_found_page_is_plain_helpful_and_accessible(browser, live_server, javascript):
    context = browser.new_context()
    page = context.new_page()
    try:
        url = live_server + "/search?q=adolesentz+xyzzyq"
        if not javascript:
            page.route(url, without_scripts)
        page.goto(url)
        assert page.locator("h2", has_text="No sources match your search").count() == 1
        assert "You searched for adolesentz, xyzzyq." in page.locator("#app-matching").inner_text()
        assert page.locator("ol.app-results li").count() == 0, "never padded with unrelated sources"
        assert page.locator("#results-count").inner_text().startswith("0 results")
        violations = axe_violations(page)
        assert violations == [], "\n".join(violations)
    finally:
        context.close()


def test_did_you_mean_runs_the_search(page_no_js, live_server):
    page = page_no_js
    page.goto(live_server + "/search?q=adolesents+edge+of+care")
    link = page.locator("#app-did-you-mean a")
    assert link.inner_text() == "adolescents edge of care"
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=adolescents+edge+of+care")
    assert page.locator("#app-did-you-mean").count() == 0
    assert page.locator("ol.app-results li.app-result").count() >= 1


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_why_this_result_opens_by_keyboard_and_is_accessible(browser, live_server, javascript):
    context = browser.new_context()
    page = context.new_page()
    try:
        url = live_server + "/search?q=Cafcass+chief+executive"
        if not javascript:
            page.route(url, without_scripts)
        page.goto(url)
        assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')") == javascript
        details = page.locator("details.app-why").first
        assert details.get_attribute("open") is None, "on demand: closed at first"
        assert not details.locator(".govuk-details__text").is_visible()
        details.locator("summary").focus()
        page.keyboard.press("Enter")
        assert details.get_attribute("open") is not None
        text = details.locator(".govuk-details__text").inner_text()
        assert "is in its publisher's name" in text and "Found" in text
        violations = axe_violations(page)
        assert violations == [], "\n".join(violations)
    finally:
        context.close()
