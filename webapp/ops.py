"""What a public service needs in front of its replicas: per-client rate limits and ``/metrics``.

Rate limits (Flask-Limiter) count per client address: the connection's, or with ``trusted_proxies``
the one that many proxies wrote into X-Forwarded-For (werkzeug's ProxyFix), never a header nobody
vouches for. ``api_rate_limit`` is one budget shared by every /api/ path, the exports and the
feeds; health checks, the API's own description, ``/metrics`` and static files are never limited,
nor are the HTML pages unless ``page_rate_limit`` says so (a practitioner clicking through pages
must never meet a 429, and a whole council may share one address).

Metrics (prometheus-client) are counted per Flask rule, never per raw path, so that a scan of
invented addresses adds no series. Under gunicorn (``kb serve``) every worker writes its counts
into ``$PROMETHEUS_MULTIPROC_DIR`` and a scrape adds them up; under Flask's own server the counts
live in this process. The live generation is read at scrape time from the index handle.

Usage::

    ops.init_app(app, settings)   # in create_app, after the blueprints
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Flask, Response, g, request
from flask_limiter import Limit, Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.errors import ConfigurationError
from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from werkzeug.middleware.proxy_fix import ProxyFix

from index.errors import KBError, SettingsError
from index.settings import Settings
from index.storage.contract import Manifest
from webapp.errors import error_response

logger = logging.getLogger(__name__)

# Never limited: health checks (a load balancer polls them), the API's description, the scraper.
UNLIMITED_ENDPOINTS = frozenset({"static", "health.healthz", "service_api.status_api", "api.openapi", "metrics"})
# Outside /api/ but the API's work under another address: a search's export and its Atom feed.
API_LIKE_ENDPOINTS = frozenset({"takeaway.export_page", "takeaway.feed"})
# Label of a request no rule matched (404 and 405): one series, whatever the path.
UNMATCHED = "unmatched"


def _limited_as_api() -> bool:
    if request.endpoint in UNLIMITED_ENDPOINTS:
        return False
    return request.path.startswith("/api/") or request.endpoint in API_LIKE_ENDPOINTS


def _limited_as_page() -> bool:
    return request.endpoint not in UNLIMITED_ENDPOINTS and not _limited_as_api()


def _checked_rate(name: str, value: str) -> str:
    try:
        parse_many(value)
    except ValueError:
        raise SettingsError(f"Setting {name!r} must be a rate such as '120 per minute' or '10/second;600/hour' "
                            f"(or empty for no limit), got {value!r}.") from None
    return value


def init_limiter(app: Flask, settings: Settings) -> Limiter | None:
    """Limit the API (and the pages, if asked) per client address; None when no limit is set."""
    limits: list[str | Callable[[], str] | Limit] = []
    if settings.api_rate_limit:
        limits.append(Limit(_checked_rate("api_rate_limit", settings.api_rate_limit), scope="api", shared=True,
                            exempt_when=lambda: not _limited_as_api()))
    if settings.page_rate_limit:
        limits.append(Limit(_checked_rate("page_rate_limit", settings.page_rate_limit), scope="pages", shared=True,
                            exempt_when=lambda: not _limited_as_page()))
    if not limits:
        return None
    try:
        # A storage that stops answering (redis down) lets requests through, counted in memory
        # meanwhile: the service stays up rather than failing every request over its limiter.
        limiter = Limiter(get_remote_address, app=app, default_limits=limits,
                          storage_uri=settings.rate_limit_storage, headers_enabled=True, key_prefix="kb",
                          swallow_errors=True, in_memory_fallback_enabled=True)
    except ConfigurationError as exc:
        raise SettingsError(f"Setting 'rate_limit_storage' cannot be used ({exc}): use memory://, "
                            f"redis://HOST:PORT or memcached://HOST:PORT (the last two need the redis or "
                            f"pymemcache package installed).") from None

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded):
        current = limiter.current_limit
        wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
        g.kb_retry_after = str(wait)
        what = "the API" if _limited_as_api() else "this site's pages"
        message = (f"Too many requests from your address: {what} allows {exc.limit.limit}. "
                   f"Try again in {wait} second{'s' if wait != 1 else ''}.")
        return error_response(429, "rate_limited", message, "Too many requests", {"Retry-After": str(wait)})

    def retry_after_only_when_refused(response: Response) -> Response:
        # Flask-Limiter writes Retry-After beside its X-RateLimit-* headers on every response it counts,
        # rounded its own way: a refusal says the wait its message names, other answers none.
        if response.status_code == 429 and "kb_retry_after" in g:
            response.headers["Retry-After"] = g.kb_retry_after
        elif response.status_code < 400:
            response.headers.pop("Retry-After", None)
        return response

    app.after_request_funcs.setdefault(None, []).insert(0, retry_after_only_when_refused)
    return limiter


@dataclass(frozen=True)
class RequestMetrics:
    """The request metrics of one app, and the registry a scrape reads."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    server_errors: Counter
    rate_limited: Counter


class GenerationCollector(Collector):
    """The live generation, read from the index handle when scraped (so every worker reports the same)."""

    def __init__(self, manifest: Callable[[], Manifest]) -> None:
        self._manifest = manifest

    def collect(self) -> Iterator[Metric]:
        available = GaugeMetricFamily("kb_index_available", "1 when a generation is live and fits the settings.")
        try:
            manifest = self._manifest()
        except KBError:
            available.add_metric([], 0)
            yield available
            return
        available.add_metric([], 1)
        yield available
        info = GaugeMetricFamily("kb_generation_info", "The live generation (always 1; its id is the label).",
                                 labels=["generation"])
        info.add_metric([manifest.generation], 1)
        yield info
        gauges = [("kb_generation_sources", "Sources in the live generation.", float(manifest.sources)),
                  ("kb_generation_passages", "Passages in the live generation.", float(manifest.passages))]
        with contextlib.suppress(ValueError):  # a manifest without a build time: no age, not a failed scrape
            gauges.append(("kb_generation_age_seconds", "Seconds since the live generation was built.",
                           manifest.age_seconds()))
        for name, text, value in gauges:
            family = GaugeMetricFamily(name, text)
            family.add_metric([], value)
            yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())  # computed at scrape time; nothing to check for clashes


def _live_manifest() -> Manifest:
    from webapp.index_handle import get_index

    return get_index().searcher().generation.manifest


def init_metrics(app: Flask) -> RequestMetrics:
    """Count every request by rule and status class, time it, and serve ``/metrics``."""
    # prometheus_client picks file-backed values on import when the directory is set; only then can
    # the workers' counts be added up (an app made in a process that imported it earlier counts alone).
    if values.ValueClass is not values.MutexValue and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Imported while a server of this process had the directory set, and it is gone now: file-backed values
        # would fail on the missing directory, so this app counts in memory (as prometheus_client would choose).
        values.ValueClass = values.get_value_class()
    multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")) and values.ValueClass is not values.MutexValue
    registry = CollectorRegistry()
    # In multiprocess mode the values go to files whatever the registry; the scrape reads the files.
    own = None if multiprocess else registry
    metrics = RequestMetrics(
        registry=registry,
        requests=Counter("kb_http_requests", "HTTP requests answered, by Flask rule and status class.",
                         ["endpoint", "status"], registry=own),
        latency=Histogram("kb_http_request_duration_seconds", "Time to answer a request, by Flask rule.",
                          ["endpoint"], registry=own),
        server_errors=Counter("kb_http_server_errors", "Requests answered with a 5xx status, by Flask rule.",
                              ["endpoint"], registry=own),
        rate_limited=Counter("kb_http_rate_limited", "Requests refused with 429 by the rate limits, by Flask rule.",
                             ["endpoint"], registry=own))
    if multiprocess:
        MultiProcessCollector(registry)
    registry.register(GenerationCollector(_live_manifest))

    def started() -> None:
        g.kb_started = time.perf_counter()

    def count(response: Response) -> Response:
        rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        metrics.requests.labels(rule, f"{response.status_code // 100}xx").inc()
        if response.status_code >= 500:
            metrics.server_errors.labels(rule).inc()
        elif response.status_code == 429:
            metrics.rate_limited.labels(rule).inc()
        if "kb_started" in g:
            metrics.latency.labels(rule).observe(time.perf_counter() - g.kb_started)
        return response

    # First before the request and last after it (Flask runs after_request hooks in reverse), so
    # that the time covers the limiter, the view and compression, and a 429 is counted.
    app.before_request_funcs.setdefault(None, []).insert(0, started)
    app.after_request_funcs.setdefault(None, []).insert(0, count)

    def scrape() -> Response:
        # The format the scraper asks for (OpenMetrics, or Prometheus text 0.0.4 by default), and its
        # Content-Type as prometheus_client writes it, given whole: Flask's ``mimetype=`` appends a second
        # ``charset``, which strict parsers (Go's mime.ParseMediaType, in Prometheus) reject.
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return Response(encoder(registry), headers={"Content-Type": content_type})

    app.add_url_rule("/metrics", "metrics", scrape)
    app.extensions["kb_metrics"] = metrics
    return metrics


def init_app(app: Flask, settings: Settings) -> None:
    """Trusted proxies, metrics and rate limits, as the settings say."""
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    if settings.metrics:
        init_metrics(app)
    init_limiter(app, settings)
