"""/metrics in Prometheus text format (webapp/ops.py): the counts move as requests are answered,
labelled by Flask rule and status class, and the live generation is the one served."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_settings
from tests.helpers import strict_media_type
from webapp import create_app

pytestmark = pytest.mark.integration


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def requests_total(samples, endpoint: str, status: str) -> float:
    return samples.get(("kb_http_requests_total", (("endpoint", endpoint), ("status", status))), 0.0)


@pytest.fixture
def client(corpus_settings):
    return create_app({"TESTING": True, "KB_SETTINGS": corpus_settings}).test_client()


def test_requests_are_counted_by_rule_and_status_class(client):
    before = scrape(client)
    for _ in range(2):
        assert client.get("/api/councils/hackney").status_code == 200
    assert client.get("/api/projects/no-such-project").status_code == 404
    after = scrape(client)
    assert requests_total(after, "/api/councils/<slug>", "2xx") - requests_total(before, "/api/councils/<slug>",
                                                                                 "2xx") == 2
    assert requests_total(after, "/api/projects/<slug>", "4xx") - requests_total(before, "/api/projects/<slug>",
                                                                                 "4xx") == 1
    latency = ("kb_http_request_duration_seconds_count", (("endpoint", "/api/councils/<slug>"),))
    assert after[latency] - before.get(latency, 0.0) == 2
    assert after[("kb_http_request_duration_seconds_sum", (("endpoint", "/api/councils/<slug>"),))] > 0


def test_an_address_no_rule_matches_is_one_series_whatever_the_path(client):
    before = scrape(client)
    for path in ("/no/such/page-7f3a", "/wp-login.php", "/.env"):
        assert client.get(path).status_code == 404
    after = scrape(client)
    assert requests_total(after, "unmatched", "4xx") - requests_total(before, "unmatched", "4xx") == 3
    text = client.get("/metrics").get_data(as_text=True)
    assert "page-7f3a" not in text and "wp-login" not in text


def test_server_errors_are_counted(client, monkeypatch):
    def broken():
        raise RuntimeError("a bug")

    before = scrape(client)
    with monkeypatch.context() as patch:
        patch.setattr(client.application.extensions["kb_index"], "served", broken)
        assert client.get("/api/suggest?q=care").status_code == 500
    after = scrape(client)
    errors = ("kb_http_server_errors_total", (("endpoint", "/api/suggest"),))
    assert after[errors] - before.get(errors, 0.0) == 1
    assert requests_total(after, "/api/suggest", "5xx") - requests_total(before, "/api/suggest", "5xx") == 1


def test_the_live_generation_is_the_one_served(client, corpus_settings):
    health = client.get("/healthz").get_json()
    samples = scrape(client)
    assert samples[("kb_index_available", ())] == 1
    generations = [labels for (name, labels) in samples if name == "kb_generation_info"]
    assert generations == [(("generation", health["generation"]),)]
    assert samples[("kb_generation_sources", ())] == health["sources"] == 5
    assert samples[("kb_generation_passages", ())] == health["passages"]
    assert abs(samples[("kb_generation_age_seconds", ())] - health["age_seconds"]) < 60
    text = client.get("/metrics").get_data(as_text=True)
    assert str(corpus_settings.data_dir) not in text and "model" not in text  # no paths, no settings


def test_without_an_index_the_metrics_say_so(tmp_path):
    client = create_app({"TESTING": True, "KB_SETTINGS": make_settings(tmp_path)}).test_client()
    samples = scrape(client)
    assert samples[("kb_index_available", ())] == 0
    assert not any(name.startswith("kb_generation") for name, _ in samples)


def test_metrics_can_be_turned_off(corpus_settings):
    client = create_app({"TESTING": True, "KB_SETTINGS": corpus_settings.replace(metrics=False)}).test_client()
    assert client.get("/metrics").status_code == 404


def test_kb_serve_gives_its_workers_a_fresh_metrics_directory_and_removes_it(monkeypatch):
    from webapp.server import multiprocess_metrics

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with multiprocess_metrics(True):
        made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        assert made.is_dir() and not any(made.iterdir())
        (made / "counter_1.db").write_bytes(b"")
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ and not made.exists()


def test_an_operators_metrics_directory_is_kept_but_emptied_of_counts(monkeypatch, tmp_path):
    from webapp.server import multiprocess_metrics

    (tmp_path / "counter_123.db").write_bytes(b"last run")
    (tmp_path / "README").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with multiprocess_metrics(True):
        assert sorted(p.name for p in tmp_path.iterdir()) == ["README"]
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path) and tmp_path.is_dir()


def test_an_app_made_after_the_directory_appears_still_counts(corpus_settings, monkeypatch, tmp_path):
    # prometheus_client chose in-process values when it was imported: the app must not wait for files.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    client = create_app({"TESTING": True, "KB_SETTINGS": corpus_settings}).test_client()
    client.get("/api/themes")
    assert requests_total(scrape(client), "/api/themes", "2xx") == 1


@pytest.mark.parametrize("value", ["text/plain; version=1.0.0; charset=utf-8; charset=utf-8", "text/plain;",
                                   "text/plain; charset"])
def test_the_strict_parse_refuses_what_prometheus_refuses(value):
    with pytest.raises(AssertionError):
        strict_media_type(value)


@pytest.mark.parametrize("accept, media_type, version", [
    (None, "text/plain", "0.0.4"),  # what Prometheus parses, and what curl gets
    ("text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "text/plain", "0.0.4"),
    ("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", "application/openmetrics-text",
     "1.0.0"),
])
def test_metrics_have_one_well_formed_content_type(client, accept, media_type, version):
    """Issue 26 item 7: one Content-Type, that a strict parser accepts, naming the format of the body."""
    response = client.get("/metrics", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert len(response.headers.getlist("Content-Type")) == 1
    kind, params = strict_media_type(response.headers["Content-Type"])
    assert (kind, params.get("version"), params.get("charset")) == (media_type, version, "utf-8")
    body = response.get_data(as_text=True)
    if kind == "text/plain":
        families = {family.name for family in text_string_to_metric_families(body)}
    else:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families

        assert body.endswith("# EOF\n")
        families = {family.name for family in openmetrics_families(body)}
    assert {"kb_http_requests", "kb_index_available"} <= families
