"""Taking sources away in the browser: tick, download, cite, subscribe; with and without JavaScript."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import feedparser
import pytest
import rispy

from tests.browser.conftest import axe_violations

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _download(page, button: str) -> str:
    with page.expect_download() as info:
        page.click(f"#app-export button:has-text('{button}')")
    download = info.value
    assert re.fullmatch(r"innovation-kb-[a-z0-9-]+-\d{4}-\d{2}-\d{2}\.(ris|bib|csv)", download.suggested_filename)
    return Path(download.path()).read_text(encoding="utf-8-sig")


def test_tick_results_download_them_and_copy_a_citation(page, live_server):
    page.goto(live_server + "/search?q=innovation")
    feed = page.locator("head link[rel=alternate][type='application/atom+xml']")
    assert feed.count() == 1
    ticks = page.locator("ol.app-results input[name=id]")
    assert ticks.count() == 2  # two results a page on the test server
    ticks.nth(1).check()
    ticked = [ticks.nth(1).get_attribute("value")]
    rows = list(csv.DictReader(io.StringIO(_download(page, "Download CSV"))))
    assert [r["source_id"] for r in rows] == ticked
    ticks.nth(1).uncheck()
    # With nothing ticked, the download holds the search's results (more than this page's two).
    everything = rispy.loads(_download(page, "Download RIS"))
    total = int(page.locator("#results-count").inner_text().split()[0])
    assert len(everything) == total > 2
    page.locator("ol.app-results details.app-cite summary").first.click()
    citation = page.locator("ol.app-results .app-citation").first
    assert citation.is_visible() and re.search(r"\(\d{4}|no date\)", citation.inner_text())
    # The Copy button works from the keyboard: Tab to it, press Enter; the clipboard holds the reference's
    # plain text and the live region says it was copied.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    button = page.locator("ol.app-results .app-copy__button").first
    assert button.is_visible()
    page.locator("ol.app-results details.app-cite summary").first.focus()
    page.keyboard.press("Tab")  # from "Cite this" the next stop is the button: the reference holds no link
    assert button.evaluate("b => b === document.activeElement")
    page.keyboard.press("Enter")
    page.locator("#app-live:has-text('Reference copied')").wait_for(state="attached")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == " ".join(citation.inner_text().split()) and "<i>" not in copied
    page.locator("#take-away details summary").click()
    assert page.locator("#take-away details ol li").first.is_visible()
    assert axe_violations(page) == []
    assert page.js_errors == []

    page.locator("ol.app-results h2 a").first.click()
    page.wait_for_url("**/documents/**")  # the click starts a navigation; wait for it, not for the old page
    assert page.locator("#cite").is_visible() and page.locator("#reference").is_visible()
    assert axe_violations(page) == []


def test_download_and_subscribe_without_javascript(page_no_js, live_server):
    page = page_no_js
    page.goto(live_server + "/search?q=social+work&type=blog")
    page.locator("ol.app-results input[name=id]").first.check()
    ticked = page.locator("ol.app-results input[name=id]").first.get_attribute("value")
    records = rispy.loads(_download(page, "Download RIS"))
    assert [r["id"] for r in records] == [ticked]
    href = page.locator("#take-away a:has-text('Get alerts for this search')").get_attribute("href")
    assert href == "/search.atom?q=social+work&type=blog"
    response = page.request.get(live_server + href)
    assert response.ok and response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.text())
    assert parsed.bozo == 0 and parsed.entries
    # Without JavaScript the reference is plain text to select, and no Copy button that cannot work is shown.
    page.locator("ol.app-results details.app-cite summary").first.click()
    assert page.locator("ol.app-results .app-citation").first.is_visible()
    assert not page.locator("ol.app-results .app-copy__button").first.is_visible()
    # axe-core needs JavaScript to run; the same page is checked with it above.
