"""The journeys practitioners take, with and without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_search_filter_open_back_next_with_javascript(page, live_server):
    page.goto(live_server + "/")
    page.fill("#q", "social work")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=social+work*")
    total = int(page.locator("#results-count").inner_text().split()[0])
    assert total >= 3

    # Filter: ticking a box applies it without a reload, and the URL keeps it.
    page.evaluate("window.__same_document = true")
    box = page.locator("input[name=type]").first
    value = box.get_attribute("value")
    box.check()
    page.wait_for_url(f"**type={value}*")
    assert page.evaluate("window.__same_document === true"), "the filter reloaded the page"
    expect(page.locator("#app-live")).to_contain_text("result")
    filtered = int(page.locator("#results-count").inner_text().split()[0])
    assert 1 <= filtered < total
    assert page.locator(f"input[name=type][value={value}]").is_checked()

    # Open a document: the matched passage is marked and is the target of the URL.
    first = page.locator("ol.app-results h2 a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url("**/documents/**")
    assert page.locator("h1").inner_text() == title
    assert page.locator("mark#match").count() == 1

    # Back to the filtered results, then on to the next page of the unfiltered ones.
    page.go_back()
    page.wait_for_url(f"**type={value}*")
    page.locator(".app-selected-filters a").first.click()
    page.wait_for_url("**/search?q=social+work")
    page.locator(".govuk-pagination__next a").click()
    page.wait_for_url("**page=2*")
    assert page.locator(".govuk-pagination__item--current").inner_text().strip() == "2"
    assert page.js_errors == []


def test_the_same_journey_without_javascript(page_no_js, live_server):
    page = page_no_js
    page.goto(live_server + "/")
    page.fill("#q", "social work")
    page.click("button.govuk-button:has-text('Search')")
    page.wait_for_url("**/search?q=social+work*")
    total = int(page.locator("#results-count").inner_text().split()[0])
    page.locator("input[name=type]").first.check()
    page.click("button:has-text('Apply filters')")
    page.wait_for_url("**type=*")
    assert int(page.locator("#results-count").inner_text().split()[0]) < total
    page.locator("ol.app-results h2 a").first.click()
    assert page.locator("mark#match").count() == 1
    page.go_back()
    page.locator(".app-selected-filters a").first.click()
    page.locator(".govuk-pagination__next a").click()
    page.wait_for_url("**page=2*")


def test_suggestions_by_keyboard(page, live_server):
    page.goto(live_server + "/")
    page.locator("#q").press_sequentially("innovat", delay=30)
    options = page.locator("#q-suggestions [role=option]")
    options.first.wait_for()
    assert page.get_attribute("#q", "aria-expanded") == "true"
    assert options.count() >= 2
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#q", "aria-activedescendant") == "q-suggestion-0"
    page.keyboard.press("Enter")
    page.wait_for_url("**/documents/**")
    assert "nnovat" in page.locator("h1").inner_text()
    assert page.js_errors == []


def test_leader_goes_from_home_to_council_project_related_and_narrowed_search(page, live_server):
    page.goto(live_server + "/")
    page.get_by_role("link", name="Councils", exact=True).first.click()
    page.get_by_role("link", name="Hackney", exact=True).click()
    assert page.locator("h1").inner_text() == "Hackney"
    page.get_by_role("link", name="Reclaiming Social Work").first.click()
    assert page.locator("h1").inner_text() == "Reclaiming Social Work"
    # Related projects come with their reasons, and lead on.
    related = page.locator("h2:has-text('Related projects') + ul li")
    assert related.count() >= 2
    assert "shares:" in related.first.inner_text()
    related.first.locator("a").click()
    page.wait_for_url("**/projects/**")
    assert page.locator("h2:has-text('Sources that mention it')").count() == 1
    page.go_back()
    # The sources behind the project, then a search narrowed by council and theme, all by clicking.
    page.get_by_role("link", name="Hackney").first.click()
    page.get_by_role("link", name="Search and filter the sources about Hackney").click()
    page.wait_for_url("**council=hackney*")
    page.locator("input[name=theme]").first.check()
    page.wait_for_url("**theme=*")
    expect(page.locator("h1")).to_contain_text("Sources naming Hackney, on")
    assert int(page.locator("#results-count").inner_text().split()[0]) >= 1
    page.locator("ol.app-results h2 a").first.click()
    expect(page.locator("#related-heading")).to_be_visible()
    assert page.js_errors == []


def test_filters_by_keyboard_keep_focus_and_announce(page, live_server):
    page.goto(live_server + "/search?q=social+work")
    box = page.locator("input[name=type]").first
    box.focus()
    page.keyboard.press("Space")
    page.wait_for_url("**type=*")
    expect(page.locator("#app-live")).to_contain_text("result")
    # Focus stays on the same filter after the results change, so the next Tab goes on from there.
    assert page.evaluate("document.activeElement.name") == "type"
    assert page.evaluate("document.activeElement.checked") is True
