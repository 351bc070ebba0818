"""Polite HTTP for the harvest: robots.txt, one request at a time per host, conditional requests, limits.

Every request goes through :meth:`Fetcher.fetch`, which

- asks the host's ``robots.txt`` first (Protego, RFC 9309; kept between runs and asked again with
  a conditional request), and does not fetch what it disallows;
- waits its turn: requests to one host never overlap, and start ``harvest_delay`` seconds apart
  (or the host's ``Crawl-delay``, if longer, up to 60 s);
- sends ``If-None-Match`` / ``If-Modified-Since`` when the caller has validators: a 304 costs no body;
- waits out a 429 or 503 that says ``Retry-After`` (up to ``harvest_max_retry_after``, twice);
- follows redirects itself (up to ``harvest_max_redirects``), refusing a loop, and treating a page
  that now redirects to its site's home page as gone;
- abandons a response over ``harvest_max_bytes`` or slower than ``harvest_timeout``.

The outcome is a :class:`Fetched`, never an exception: one page failing is a line in the report.

Usage::

    fetcher = Fetcher(Politeness.from_settings(settings), RobotsMemory(path))
    got = fetcher.fetch("https://example.org/feed.xml", tally, etag='"abc"')
    got.outcome   # "ok", "not_modified", "gone", "failed" or "disallowed"
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from protego import Protego

from index.errors import KBError
from index.settings import Settings

logger = logging.getLogger(__name__)

# The product token robots.txt rules name (``User-agent: innovation-kb``).
ROBOTS_AGENT = "innovation-kb"
# A Crawl-delay longer than this is taken as this: a host asking for minutes between requests would
# make a nightly run last days.
MAX_CRAWL_DELAY_S = 60.0
# Times a 429/503 with an acceptable Retry-After is waited out before the request is reported.
MAX_RETRIES = 2
# RFC 9309: a crawler must read at least 500 KiB of a robots.txt; more is not read.
ROBOTS_MAX_BYTES = 500 * 1024
REDIRECTS = (301, 302, 303, 307, 308)


class HarvestError(KBError):
    """The harvest cannot start (no contact address, a mirror that cannot be written, a held lock)."""


@dataclass(frozen=True)
class Politeness:
    """How the harvest behaves towards publishers' servers (from the ``harvest_*`` settings)."""

    user_agent: str
    delay_s: float = 1.0
    timeout_s: float = 30.0
    max_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 5
    max_retry_after_s: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Politeness:
        """:raises HarvestError: when no contact address is set (publishers must be able to reach the operator)."""
        contact = settings.harvest_contact.strip()
        if not contact:
            raise HarvestError("Set harvest_contact (an e-mail address or a web page where publishers can reach "
                               "you) before harvesting: it goes in the User-Agent of every request. For example "
                               "KB_HARVEST_CONTACT=kb-admin@example.gov.uk or harvest_contact in the settings file.")
        return cls(user_agent=user_agent(contact), delay_s=settings.harvest_delay, timeout_s=settings.harvest_timeout,
                   max_bytes=settings.harvest_max_bytes, max_redirects=settings.harvest_max_redirects,
                   max_retry_after_s=settings.harvest_max_retry_after)


def user_agent(contact: str) -> str:
    """``innovation-kb/0.1.0 (+mailto:ops@example.org)``: the service, its version, and who to write to."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("innovation-kb")
    except PackageNotFoundError:
        release = "dev"
    address = contact if "://" in contact or contact.startswith("mailto:") else (
        f"mailto:{contact}" if "@" in contact else contact)
    return f"{ROBOTS_AGENT}/{release} (+{address})"


@dataclass
class Tally:
    """What one source's requests cost (the run report's figures)."""

    requests: int = 0
    not_modified: int = 0
    bytes: int = 0
    waited_s: float = 0.0


@dataclass(frozen=True)
class Fetched:
    """The outcome of asking for one address.

    ``outcome`` is ``ok`` (``body`` holds the response), ``not_modified`` (a 304: the copy stands),
    ``gone`` (404/410, or a redirect to the site's home page), ``disallowed`` (robots.txt) or
    ``failed``; ``reason`` says why in words for the last three.
    """

    outcome: str
    url: str
    final_url: str
    status: int | None = None
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    reason: str = ""


def status_words(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def size_words(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} MiB"


def is_home_page(url: str) -> bool:
    """Whether an address is a site's home page (where publishers redirect what they removed)."""
    path = urlsplit(url).path.rstrip("/").lower()
    return path in ("", "/index.html", "/index.htm", "/index.php", "/home")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.lower(), "", "", ""))


class _HostTurns:
    """One request at a time per host, ``delay`` apart; a Retry-After pushes the host's next turn back."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._next: dict[str, float] = {}

    def _lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    @contextlib.contextmanager
    def turn(self, host: str, delay: float) -> Iterator[None]:
        with self._lock(host):
            wait = self._next.get(host, 0.0) - time.monotonic()
            if wait > 0:
                self._sleep(wait)
            try:
                yield
            finally:
                with self._guard:
                    self._next[host] = max(self._next.get(host, 0.0), time.monotonic() + delay)

    def hold(self, host: str, seconds: float) -> None:
        with self._guard:
            self._next[host] = max(self._next.get(host, 0.0), time.monotonic() + seconds)


@dataclass
class RobotsFile:
    """A host's robots.txt as last fetched, with its validators (kept between runs in the mirror)."""

    body: str = ""
    status: int = 404
    etag: str | None = None
    last_modified: str | None = None
    fetched: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"body": self.body, "status": self.status, "etag": self.etag, "last_modified": self.last_modified,
                "fetched": self.fetched}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RobotsFile:
        return cls(str(data.get("body") or ""), int(data.get("status") or 404), data.get("etag"),
                   data.get("last_modified"), str(data.get("fetched") or ""))


@dataclass
class RobotsMemory:
    """The robots.txt files of earlier runs, by origin; the harvest saves and loads them with the mirror."""

    files: dict[str, RobotsFile] = field(default_factory=dict)


@dataclass
class _Rules:
    """What a host's robots.txt allows this run: its parsed rules, or a refusal of everything (and why)."""

    parser: Protego | None
    refusal: str | None = None
    crawl_delay: float = 0.0

    def allows(self, url: str) -> bool:
        if self.refusal is not None:
            return False
        return self.parser is None or bool(self.parser.can_fetch(url, ROBOTS_AGENT))


class Fetcher:
    """The harvest's HTTP client: one ``httpx.Client`` (connections reused) shared by the sources' threads.

    :param robots: robots.txt files of earlier runs (updated in place).
    :param sleep: how to wait (tests may pass their own).
    """

    def __init__(self, politeness: Politeness, robots: RobotsMemory | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.politeness = politeness
        self.robots = robots if robots is not None else RobotsMemory()
        self._sleep = sleep
        self._turns = _HostTurns(sleep)
        self._rules: dict[str, _Rules] = {}
        self._rules_guard = threading.Lock()
        self._rules_locks: dict[str, threading.Lock] = {}
        self._client = httpx.Client(
            headers={"User-Agent": politeness.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(politeness.timeout_s), follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- robots.txt --------------------------------------------------------------------------------

    def rules(self, url: str, tally: Tally) -> _Rules:
        """The robots.txt rules of ``url``'s host, fetched once per run (conditionally, when known)."""
        origin = origin_of(url)
        with self._rules_guard:
            lock = self._rules_locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._rules:
                self._rules[origin] = self._read_robots(origin, tally)
            return self._rules[origin]

    def _read_robots(self, origin: str, tally: Tally) -> _Rules:
        known = self.robots.files.get(origin)
        got = self._get(f"{origin}/robots.txt", tally, known.etag if known else None,
                        known.last_modified if known else None, ROBOTS_MAX_BYTES, robots=None, truncate=True)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if got.outcome == "not_modified" and known is not None:
            robots = known
        elif got.outcome == "ok":
            robots = RobotsFile(got.body.decode("utf-8", errors="replace"), got.status or 200, got.etag,
                                got.last_modified, now)
        elif got.status is not None and 400 <= got.status < 500 and got.status != 429:
            # RFC 9309 2.3.1.3: an unavailable robots.txt (4xx) allows everything.
            robots = RobotsFile("", got.status, None, None, now)
        else:
            # RFC 9309 2.3.1.4: an unreachable one (5xx, network) disallows everything for now.
            return _Rules(None, refusal=f"its robots.txt could not be read ({got.reason}); nothing is fetched from "
                                        f"{urlsplit(origin).netloc} until it can be")
        self.robots.files[origin] = robots
        if not robots.body.strip():
            return _Rules(None)
        parser = Protego.parse(robots.body)
        delay = parser.crawl_delay(ROBOTS_AGENT) or 0.0
        return _Rules(parser, crawl_delay=min(float(delay), MAX_CRAWL_DELAY_S))

    # -- fetching ----------------------------------------------------------------------------------

    def fetch(self, url: str, tally: Tally, etag: str | None = None, last_modified: str | None = None,
              max_bytes: int | None = None) -> Fetched:
        """Ask for ``url`` as the module docstring says; never raises for what a server does."""
        return self._get(url, tally, etag, last_modified, max_bytes or self.politeness.max_bytes, robots=self.rules)

    def _get(self, url: str, tally: Tally, etag: str | None, last_modified: str | None, max_bytes: int,
             robots: Callable[[str, Tally], _Rules] | None, truncate: bool = False) -> Fetched:
        chain = [url]
        current = url
        for _ in range(self.politeness.max_redirects + 1):
            delay = self.politeness.delay_s
            if robots is not None:
                rules = robots(current, tally)
                if not rules.allows(current):
                    why = rules.refusal or f"robots.txt disallows {urlsplit(current).path or '/'}"
                    return Fetched("disallowed", url, current, reason=why)
                delay = max(delay, rules.crawl_delay)
            got = self._send(url, current, tally, etag, last_modified, max_bytes, delay, truncate)
            if got.status not in REDIRECTS:
                return got
            location = got.reason
            if not location:
                return Fetched("failed", url, current, got.status,
                               reason=f"answered {status_words(got.status or 0)} without saying where to")
            target = urlunsplit(urlsplit(urljoin(current, location))._replace(fragment=""))
            if target in chain:
                return Fetched("failed", url, current, got.status,
                               reason="redirect loop: " + " → ".join([*chain, target]))
            if urlsplit(target).scheme not in ("http", "https"):
                return Fetched("failed", url, current, got.status, reason=f"redirects to {target}, not a web address")
            if robots is not None and is_home_page(target) and not is_home_page(url):
                return Fetched("gone", url, target, got.status, reason="redirects to the home page")
            chain.append(target)
            current = target
        return Fetched("failed", url, current, reason=f"more than {self.politeness.max_redirects} redirects "
                                                      f"(harvest_max_redirects): " + " → ".join(chain))

    def _send(self, url: str, current: str, tally: Tally, etag: str | None, last_modified: str | None,
              max_bytes: int, delay: float, truncate: bool) -> Fetched:
        """One address, waiting out Retry-After; a redirect comes back with its Location as ``reason``."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        host = urlsplit(current).netloc.lower()
        for attempt in range(MAX_RETRIES + 1):
            with self._turns.turn(host, delay):
                got = self._exchange(url, current, headers, tally, max_bytes, truncate)
            if got.status not in (429, 503):
                return got
            wait = retry_after_seconds(got.reason)
            said = status_words(got.status or 0)
            if wait is None:
                return Fetched("failed", url, current, got.status, reason=f"answered {said}"
                               + ("" if got.status == 503 else " without saying when to come back (Retry-After)"))
            if wait > self.politeness.max_retry_after_s:
                return Fetched("failed", url, current, got.status, reason=(
                    f"answered {said} asking to wait {wait:.0f} s, more than harvest_max_retry_after "
                    f"({self.politeness.max_retry_after_s:.0f} s); the next run asks again"))
            if attempt == MAX_RETRIES:
                return Fetched("failed", url, current, got.status,
                               reason=f"still answered {said} after waiting {MAX_RETRIES} times as asked")
            logger.info("%s answered %s: waiting %.1f s as asked", current, said, wait)
            tally.waited_s += wait
            self._turns.hold(host, wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange(self, url: str, current: str, headers: dict[str, str], tally: Tally, max_bytes: int,
                  truncate: bool) -> Fetched:
        """One request and its response, within the size and time limits (the caller holds the host's turn)."""
        limit = self.politeness.timeout_s
        deadline = time.monotonic() + limit
        tally.requests += 1
        try:
            with self._client.stream("GET", current, headers=headers) as response:
                status = response.status_code
                etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if status in REDIRECTS:
                    return Fetched("redirect", url, current, status, reason=response.headers.get("location", ""))
                if status in (429, 503):
                    return Fetched("retry", url, current, status, reason=response.headers.get("retry-after", ""))
                if status == 304:
                    tally.not_modified += 1
                    return Fetched("not_modified", url, current, status, etag=etag, last_modified=modified)
                if status in (404, 410):
                    return Fetched("gone", url, current, status, reason=f"answers {status_words(status)}")
                if not 200 <= status < 300:
                    return Fetched("failed", url, current, status, reason=f"answered {status_words(status)}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes and not truncate:
                    return Fetched("failed", url, current, status, reason=(
                        f"is {size_words(int(declared))}, over the {size_words(max_bytes)} limit (harvest_max_bytes); "
                        "not downloaded"))
                chunks: list[bytes] = []
                size = 0
                try:
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            if truncate:
                                chunks.append(chunk)
                                break
                            return Fetched("failed", url, current, status, reason=(
                                f"is over the {size_words(max_bytes)} limit (harvest_max_bytes); download stopped"))
                        if time.monotonic() > deadline:
                            return Fetched("failed", url, current, status,
                                           reason=f"took longer than {limit:.0f} s to arrive (harvest_timeout)")
                        chunks.append(chunk)
                finally:
                    tally.bytes += response.num_bytes_downloaded
                body = b"".join(chunks)[:max_bytes]
                return Fetched("ok", url, current, status, body, content_type, etag, modified)
        except httpx.TimeoutException:
            return Fetched("failed", url, current, reason=f"no answer within {limit:.0f} s (harvest_timeout)")
        except httpx.DecodingError as exc:
            return Fetched("failed", url, current, reason=f"sent a body that cannot be decoded ({exc})")
        except httpx.HTTPError as exc:
            return Fetched("failed", url, current, reason=f"cannot be reached ({type(exc).__name__}: {exc})")


def retry_after_seconds(value: str, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` value asks for (a number of seconds or an HTTP date), or None if it says nothing."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
