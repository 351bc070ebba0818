"""The journeys practitioners take, with and without JavaScript."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

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
    page.wait_for_url("**/documents/**")  # a click starts a navigation: wait for it before reading the page
    assert page.locator("mark#match").count() == 1
    page.go_back()
    page.wait_for_url("**type=*")
    page.locator(".app-selected-filters a").first.click()
    page.wait_for_url(lambda url: "type=" not in url)
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
    expect(page.locator("h1")).to_have_text("Hackney")  # waits for the navigation the click started
    page.get_by_role("link", name="Reclaiming Social Work").first.click()
    expect(page.locator("h1")).to_have_text("Reclaiming Social Work")
    # Related projects come with their reasons, and lead on.
    related = page.locator("h2:has-text('Related projects') + ul li")
    assert related.count() >= 2
    assert "same theme" in related.first.inner_text() or "named together" in related.first.inner_text()
    related.first.locator("a").click()
    page.wait_for_url("**/projects/**")
    assert page.locator("h2:has-text('Sources that mention it')").count() == 1
    page.go_back()
    # The sources behind the project, then a search narrowed by council and theme, all by clicking.
    page.get_by_role("link", name="Hackney").first.click()
    page.get_by_role("link", name="Search and filter the sources that name Hackney").click()
    page.wait_for_url("**mentions=hackney*")
    page.locator("input[name=theme]").first.check()
    page.wait_for_url("**theme=*")
    expect(page.locator("h1")).to_contain_text("Sources mentioning Hackney, on")
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


def _first_result_link(page):
    return page.locator("ol.app-results h2 a").first


def test_ticked_type_keeps_the_others_then_sort_by_date_and_back_to_the_same_results(page, live_server):
    page.goto(live_server + "/search?q=social+work")
    types = page.locator("input[name=type]").count()
    assert types >= 2
    page.locator("input[name=type][value=blog]").check()
    page.wait_for_url("**type=blog*")
    # The unticked types stay listed, with their counts, and can be added to the choice.
    expect(page.locator("input[name=type]")).to_have_count(types)
    other = page.locator("input[name=type]:not([value=blog])").first
    assert re.search(r"\(\d+", page.locator(f"label[for={other.get_attribute('id')}]").inner_text())
    other.check()
    page.wait_for_url(re.compile(r"type=blog&type=\w+"))
    page.get_by_role("link", name="newest first").click()
    page.wait_for_url("**sort=date*")
    dates = page.locator("ol.app-results .app-result__meta time").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('datetime'))")
    assert dates == sorted(dates, reverse=True)
    page.locator(".govuk-pagination__next a").click()
    page.wait_for_url("**page=2*")
    results = page.url
    assert axe_violations(page) == []
    _first_result_link(page).click()
    page.wait_for_url("**/documents/**")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Back to results").click()
    page.wait_for_url("**/search?**")
    assert parse_qs(urlsplit(page.url).query) == parse_qs(urlsplit(results).query)
    assert page.locator(".govuk-pagination__item--current").inner_text().strip() == "2"
    assert page.js_errors == []


def test_undated_sources_and_a_year_range_without_javascript(page_no_js, live_server):
    page = page_no_js
    page.goto(live_server + "/search?q=social+work")
    total = int(page.locator("#results-count").inner_text().split()[0])
    page.get_by_label(re.compile(r"^Date not known \(\d+")).check()
    page.click("button:has-text('Apply filters')")
    page.wait_for_url("**year=unknown*")
    assert all("date not known" in meta for meta in page.locator("ol.app-results .app-result__meta").all_inner_texts()
               if "·" in meta)
    page.locator(".app-selected-filters a").first.click()
    page.fill("#range-from", "2016")
    page.click("button:has-text('Apply filters')")
    page.wait_for_url("**from=2016*")
    assert 1 <= int(page.locator("#results-count").inner_text().split()[0]) < total
    page.fill("#range-to", "2014")
    page.click("button:has-text('Apply filters')")
    expect(page.locator(".govuk-error-summary")).to_contain_text("from 2016 is later than to 2014")


@pytest.mark.parametrize("javascript", [False, True])
def test_a_long_facet_shows_all_and_finds_a_value(browser, live_server, javascript):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, java_script_enabled=javascript)
    try:
        page = context.new_page()
        page.goto(live_server + "/search?q=care")
        councils = page.locator("input[name=mentions]")  # the councils the sources name: a long list
        shown = councils.count()
        page.get_by_role("link", name=re.compile(r"Show all \d+ councils")).click()
        page.wait_for_url("**show=mentions*")
        assert councils.count() > shown
        if javascript:  # axe runs as a script
            assert axe_violations(page) == []
        if javascript:
            # Narrows as you type, without a request.
            page.fill("#find-mentions", "upon")
            labels = page.locator("#facet-mentions label.govuk-checkboxes__label")
            visible = [label for label in labels.all_inner_texts() if label]
            expect(page.locator("#facet-mentions .govuk-checkboxes__item:visible")).not_to_have_count(councils.count())
            assert all("upon" in label.lower() for label in page.locator(
                "#facet-mentions .govuk-checkboxes__item:visible label").all_inner_texts()), visible
        else:
            page.fill("#find-mentions", "upon")
            page.click("button:has-text('Find')")
            page.wait_for_url("**find=upon*")
            labels = page.locator("#facet-mentions label.govuk-checkboxes__label").all_inner_texts()
            assert labels and all("upon" in label.lower() for label in labels)
        page.locator("#facet-mentions .govuk-checkboxes__item:visible input").first.check()
        if not javascript:
            page.click("button:has-text('Apply filters')")
        page.wait_for_url("**mentions=*")
        assert int(page.locator("#results-count").inner_text().split()[0]) >= 1
    finally:
        context.close()


def test_keyboard_skips_the_filters_to_the_first_result(page, live_server):
    page.goto(live_server + "/search?q=social+work")
    page.locator("button.govuk-button:has-text('Search')").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to results"
    assert page.locator(".app-skip-results").is_visible()
    page.keyboard.press("Enter")
    # From the search button to the first result: Tab, Enter, then at most a few Tabs (the sort links).
    first = _first_result_link(page).get_attribute("href")
    for _presses in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == first:
            break
    assert page.evaluate("document.activeElement.getAttribute('href')") == first


@pytest.mark.parametrize("javascript", [False, True])
def test_on_a_phone_the_results_come_before_the_filters(browser, live_server, javascript):
    context = browser.new_context(viewport={"width": 375, "height": 667}, java_script_enabled=javascript,
                                  is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server + "/search?q=social+work")
        first = _first_result_link(page).bounding_box()
        assert first is not None and first["y"] < 667, "the first result is not on the first screen"
        assert not page.locator("form[data-app-filters]").is_visible()
        toggle = page.get_by_role("link", name="Filter results")
        assert toggle.is_visible()
        if javascript:  # axe runs as a script
            assert axe_violations(page) == []
        toggle.click()
        expect(page.locator("form[data-app-filters]")).to_be_visible()
        page.locator("input[name=type]").first.check()
        if not javascript:
            page.click("button:has-text('Apply filters')")
        page.wait_for_url("**type=*")
        if not javascript:
            # A new list of results: the filters are folded away again.
            assert not page.locator("form[data-app-filters]").is_visible()
            assert _first_result_link(page).is_visible()
        else:
            # Applied without a reload; the filters stay open for another tick until put away.
            expect(page.locator("#app-live")).to_contain_text("result")
            assert page.locator("form[data-app-filters]").is_visible()
            page.get_by_role("link", name="Back to the results").click()
            expect(page.locator("form[data-app-filters]")).to_be_hidden()
            assert _first_result_link(page).is_visible()
    finally:
        context.close()
