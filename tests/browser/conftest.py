"""Browser tests: the real app served over HTTP, driven by Playwright in Debian's Chromium.

Chromium comes from Debian (`apt-get install chromium`; `.ci/run` installs it); Playwright's own
browser download cannot work here. axe-core comes from npm (`node_modules/axe-core`). Each
test leaves a full-page screenshot in test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("KB_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
# WCAG 2.0, 2.1 and 2.2, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: apt-get install chromium"
    if not AXE.exists():
        return f"{AXE} is missing: npm ci"
    return None


@pytest.fixture(scope="session")
def live_server(local_corpus_settings) -> Iterator[str]:
    """The app over the sample corpus at two results a page (so there is a next page), on a free port."""
    from werkzeug.serving import make_server

    from webapp import create_app

    app = create_app({"KB_SETTINGS": local_corpus_settings.replace(top_k=2)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def _page_fixture(browser, request, **context_args):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, **context_args)
    page = context.new_page()
    page.set_default_timeout(15_000)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.dialogs, page.js_errors = dialogs, errors
    yield page
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture
def page(browser, request):
    yield from _page_fixture(browser, request)


@pytest.fixture
def page_no_js(browser, request):
    yield from _page_fixture(browser, request, java_script_enabled=False)


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.2 A/AA violations on the page, one line each (rule, impact, first nodes)."""
    # Through the DevTools protocol, so the page's Content-Security-Policy (no inline script, no
    # eval) does not stop it, and without adding anything to the page.
    loaded = page.evaluate("() => {\n" + AXE.read_text(encoding="utf-8") + "\n;return typeof window.axe;}")
    assert loaded == "object", "axe-core did not load"
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
            for v in result["violations"]]


def without_scripts(route) -> None:
    """Serve the page as a browser without JavaScript runs it: axe needs JavaScript in the page to run, so a
    no-JavaScript check removes the page's own scripts instead (``page.route(url, without_scripts)``)."""
    response = route.fetch()
    route.fulfill(response=response, body=re.sub(r"<script\b.*?</script>", "", response.text(), flags=re.S))
