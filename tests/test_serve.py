"""`kb serve` for real: gunicorn with two workers over the sample corpus, over HTTP."""

from __future__ import annotations

import gzip
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.helpers import strict_media_type

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


SERVER_PIDS: dict[str, int] = {}  # base URL -> the gunicorn master's pid


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory):
    """Where the workers' metric files go, seen by the test; kb serve must clear a past run's files."""
    path = tmp_path_factory.mktemp("metrics")
    (path / "counter_1.db").write_bytes(b"not a metrics file")
    return path


@pytest.fixture(scope="module")
def serve_log(tmp_path_factory):
    """Everything `kb serve` writes (its access log goes to stdout)."""
    return tmp_path_factory.mktemp("serve") / "serve.log"


@pytest.fixture(scope="module")
def server(corpus_settings, serve_log, metrics_dir):
    port = _free_port()
    env = {**os.environ, "KB_CANARIES": "", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
           "KB_STORE_URL": corpus_settings.store_url}  # on PostgreSQL, the replica's data directory is empty
    log_path = serve_log
    log = open(log_path, "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [sys.executable, "-c", "from kbcli.main import main; main()", "serve", "--data-dir",
         str(corpus_settings.data_dir), "--port", str(port), "--workers", "2"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if _get(base + "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        log.close()
        pytest.fail("kb serve did not answer /healthz within 120 s: " + log_path.read_text()[-2000:])
    SERVER_PIDS[base] = process.pid
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    log.close()


def test_pages_assets_and_headers_under_gunicorn(server):
    for path in ("/", "/search?q=adolescents+edge+of+care", "/projects", "/councils/hackney", "/themes",
                 "/api/search?q=care&council=hackney"):
        status, headers, _ = _get(server + path)
        assert status == 200, path
        assert "nonce-" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    status, headers, body = _get(server + "/static/build/app.css", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    css = gzip.decompress(body)
    assert b".govuk-header" in css or b".govuk-generic-header" in css
    assert b"GDS Transport" not in css, "not a GOV.UK service: no GOV.UK font"



def test_a_pasted_page_fits_gunicorns_request_line(server):
    # The search form is a GET: the longest query accepted (6,000 characters of prose, ~5,600 encoded
    # here) must pass gunicorn's request-line limit (default 4,094 bytes) to reach the page.
    import urllib.parse

    from tests.conftest import CORPUS

    words = (CORPUS / "004_7b87d5ffdc1c3793.txt").read_text(encoding="utf-8").split()
    query = " ".join(words)[:5990]
    url = server + "/search?" + urllib.parse.urlencode({"q": query})
    assert len(url) - len(server) > 4094
    status, _, body = _get(url)
    assert status == 200 and b"<mark>" in body


def test_metrics_add_up_across_workers(server, metrics_dir):
    from concurrent.futures import ThreadPoolExecutor

    from prometheus_client.parser import text_string_to_metric_families

    def answered() -> float:
        _, headers, body = _get(server + "/metrics")
        assert strict_media_type(headers["Content-Type"]) == ("text/plain", {"version": "0.0.4", "charset": "utf-8"})
        return sum(s.value for family in text_string_to_metric_families(body.decode()) for s in family.samples
                   if s.name == "kb_http_requests_total" and s.labels == {"endpoint": "/api/themes", "status": "2xx"})

    def workers_that_counted() -> set[str]:
        return {path.stem.split("_")[-1] for path in metrics_dir.glob("counter_*.db")}

    before, made = answered(), 0
    with ThreadPoolExecutor(8) as pool:
        # Concurrent requests land on both workers; go on until both have counted some (bounded).
        for _ in range(10):
            assert all(status == 200 for status, _, _ in pool.map(lambda _: _get(server + "/api/themes"), range(40)))
            made += 40
            if len(workers_that_counted()) == 2:
                break
    assert len(workers_that_counted()) == 2
    # Whichever worker answers the scrape, it reports what both answered.
    for _ in range(4):
        assert answered() - before == made


def test_no_access_log_line_holds_what_was_searched(server, serve_log):
    """Issue 26 item 6: searches typed, pasted, suggested and exported, and a page opened from the
    results (its Referer holds the search), leave their paths in the log, never their words."""
    import urllib.parse

    from tests.conftest import CORPUS

    secret = "Zebedee"  # a name no source holds
    typed = f"{secret} neglect adolescents"
    words = (CORPUS / "003_9ee0817c87de1d62.txt").read_text(encoding="utf-8").split()
    pasted = f"{secret} Quillfeather, aged 9. " + " ".join(words[200:320])
    status, _, _ = _get(server + "/search?" + urllib.parse.urlencode({"q": typed}))
    assert status == 200
    form = urllib.parse.urlencode({"q": pasted}).encode()
    with urllib.request.urlopen(urllib.request.Request(server + "/search", data=form), timeout=30) as response:
        landed = response.url  # after the 303, on either worker
        assert response.status == 200 and b"Results for the text you pasted" in response.read()
    assert secret not in landed and "/search?r=" in landed
    for path in ("/api/suggest?" + urllib.parse.urlencode({"q": secret[:4]}),
                 "/api/search?" + urllib.parse.urlencode({"q": typed}),
                 "/search.atom?" + urllib.parse.urlencode({"q": typed})):
        assert _get(server + path)[0] == 200, path
    _get(server + "/themes", Referer=server + "/search?" + urllib.parse.urlencode({"q": typed}))
    time.sleep(0.5)  # each line is flushed as it is written; let the last one land
    log = serve_log.read_text(encoding="utf-8", errors="replace")
    assert re.search(r'"POST /search HTTP/1\.1" 303', log) and '"GET /api/suggest HTTP/1.1" 200' in log
    assert '"GET /search HTTP/1.1" 200' in log
    for word in (secret, secret[:4], "Quillfeather", "neglect", "aged"):
        assert word.lower() not in log.lower(), f"{word!r} is in the access log"
    assert "q=" not in log and "r=" not in log


def test_the_server_answers_without_torch_in_any_process(server, corpus_settings):
    """`kb serve` embeds queries with the generation's exported ONNX graph: neither the master nor a worker maps
    torch's library (sentence-transformers cannot run without it). A PostgreSQL replica's empty data directory
    holds no graph, so its workers fall back to torch, as `kb status` warns."""
    for _ in range(4):  # both workers answer a search
        assert _get(server + "/api/search?q=adolescents+edge+of+care")[0] == 200
    master = SERVER_PIDS[server]
    workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                                              text=True).stdout.split()]
    assert len(workers) == 2

    def maps_torch(pid: int) -> bool:
        with open(f"/proc/{pid}/maps", encoding="utf-8") as maps:
            return "libtorch" in maps.read()

    assert not maps_torch(master)
    assert [maps_torch(w) for w in workers] == [bool(corpus_settings.store_url)] * 2
