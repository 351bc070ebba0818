"""Issue 26, deliverable 6 in Chromium: a pasted case note is searched without entering the browser's history,
and fills neither the heading nor the title; a filter, a source and "Back to results" keep it held."""

from __future__ import annotations

import re

import pytest

from tests.conftest import CORPUS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("javascript", [True, False])
def test_a_pasted_case_note_stays_out_of_history(browser, live_server, javascript):
    words = (CORPUS / "003_9ee0817c87de1d62.txt").read_text(encoding="utf-8").split()
    note = "Zebedee Quillfeather, aged 9, lives with his mother. " + " ".join(words[300:420])
    context = browser.new_context(viewport={"width": 375, "height": 667}, java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(15_000)
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url) if frame == page.main_frame else None)
    try:
        page.goto(live_server + "/")
        assert "Do not type a child's name or other personal details." in page.locator("#q-hint").inner_text()
        page.fill("#q", note)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/search\?r=[A-Za-z0-9_-]{22}$"))
        assert page.locator("h1").inner_text() == "Results for the text you pasted"
        assert "Zebedee" not in page.title() and len(page.title()) < 80
        summary = page.locator("#app-query-text summary")
        assert summary.is_visible() and not page.locator(".app-query-text__body").is_visible()
        summary.click()
        assert "Zebedee Quillfeather" in page.locator(".app-query-text__body").inner_text()
        # Open a source and come back by its link: the text is still held, never in a URL.
        page.locator("ol.app-results h2 a").first.click()
        page.wait_for_url("**/documents/**")
        page.get_by_role("link", name="Back to results").click()
        page.wait_for_url(re.compile(r"/search\?r="))
        assert page.locator("h1").inner_text() == "Results for the text you pasted"
        history = page.evaluate("window.history.length")
        assert history >= 3
        assert visited and not [url for url in visited if "Zebedee" in url or "Quillfeather" in url], visited
    finally:
        context.close()
