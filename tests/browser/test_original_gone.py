"""A document whose original the harvest found gone, in a real browser: said plainly, accessible, and its long
address wrapped on a phone rather than pushing the page sideways."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from tests.browser.conftest import axe_violations
from tests.conftest import CORPUS, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GONE_URL = ("https://www.example.gov.uk/government/publications/children-and-social-work-bill-power-to-innovate-"
            "consultation-response-and-summary-of-the-evidence-received")


@pytest.fixture(scope="module")
def gone_server(tmp_path_factory):
    """A tiny index (two sample texts) in which one source's original is marked gone by its sidecar."""
    from werkzeug.serving import make_server

    from ingest.run import run_ingest
    from webapp import create_app

    folder = tmp_path_factory.mktemp("mirror")
    for name in ("001_986c9394a0ec3c21.txt", "004_7b87d5ffdc1c3793.txt"):
        shutil.copy(CORPUS / name, folder / name)
        shutil.copy(CORPUS / f"{name}.meta.json", folder / f"{name}.meta.json")
    sidecar = folder / "001_986c9394a0ec3c21.txt.meta.json"
    meta = json.loads(sidecar.read_text())
    meta.update(url=GONE_URL, original_gone={"last_seen": "2024-03-01", "noticed": "2024-03-02",
                                             "reason": "answers 404 Not Found"})
    sidecar.write_text(json.dumps(meta))
    settings = make_settings(tmp_path_factory.mktemp("data"))
    assert run_ingest([folder], settings).ok
    server = make_server("127.0.0.1", 0, create_app({"KB_SETTINGS": settings}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _gone_document(page, base: str) -> str:
    page.goto(f"{base}/search?q=power+to+innovate+Stuart+Carlton")
    return page.locator("ol.app-results h2 a").first.get_attribute("href")


def test_a_gone_original_is_said_plainly_and_accessibly(page, gone_server):
    page.goto(gone_server + _gone_document(page, gone_server))
    notice = page.locator(".app-original-gone")
    assert notice.inner_text().startswith("Original no longer available, last seen 1 Mar 2024.")
    assert GONE_URL in notice.inner_text()
    assert page.locator(f'a[href="{GONE_URL}"]').count() == 0  # no link that leads nowhere
    assert page.get_by_text("Read the original").count() == 0
    assert axe_violations(page) == []
    assert page.js_errors == []


def test_the_long_address_wraps_on_a_phone(browser, request, gone_server):
    context = browser.new_context(viewport={"width": 320, "height": 800})
    page = context.new_page()
    try:
        page.goto(gone_server + _gone_document(page, gone_server))
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
    finally:
        page.screenshot(path=f"test-artifacts/screenshots/{request.node.name}.png", full_page=True)
        context.close()
