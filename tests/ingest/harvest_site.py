"""A publisher's web site on the loopback, for the harvest tests: a real HTTP/1.1 server in a thread.

It serves what a test puts at each path (pages, PDFs, feeds, sitemaps, robots.txt), answers
conditional requests with 304 as a well-behaved server does (ETag from the bytes, Last-Modified),
and logs every request (path, status, when it started and ended, the headers it came with), so
tests can assert what was asked, how often, and how far apart.

Usage::

    with Site() as site:
        site.put("/feed.xml", feed_bytes, "application/atom+xml")
        site.url("/feed.xml")      # http://127.0.0.1:PORT/feed.xml
        site.requests("/feed.xml")
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Resource:
    """What one path answers."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    validators: bool = True  # ETag and Last-Modified, and 304 to a request that has them
    declare_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    last_modified: float = field(default_factory=lambda: time.time() - 3600)


@dataclass(frozen=True)
class Request:
    path: str
    status: int
    started: float
    ended: float
    headers: dict[str, str]


class Site:
    """The server and what it serves (see the module docstring)."""

    def __init__(self, latency_s: float = 0.01) -> None:
        self.resources: dict[str, Resource | Callable[[], Resource]] = {}
        self.log: list[Request] = []
        self.latency_s = latency_s
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                site.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.origin + path

    # -- what it serves ----------------------------------------------------------------------------

    def put(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8", **kwargs) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.resources[path] = Resource(data, content_type, **kwargs)

    def remove(self, path: str, status: int = 404) -> None:
        self.resources[path] = Resource(b"<html><body><h1>Page not found</h1></body></html>", status=status,
                                        validators=False)

    def redirect(self, path: str, location: str, status: int = 301) -> None:
        self.resources[path] = Resource(b"", status=status, headers={"Location": location}, validators=False)

    def answer_with(self, path: str, answers: list[Resource]) -> None:
        """Answer the path with each resource in turn, then with the last one for ever."""
        queue = list(answers)

        def next_answer() -> Resource:
            return queue.pop(0) if len(queue) > 1 else queue[0]

        self.resources[path] = next_answer

    # -- what it was asked -------------------------------------------------------------------------

    def requests(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.log if path is None or r.path == path]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    # -- the server side ---------------------------------------------------------------------------

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        time.sleep(self.latency_s)  # a request that overlapped another would show in the log
        found = self.resources.get(handler.path)
        resource = found() if callable(found) else found
        if resource is None:
            resource = Resource(b"<html><body>Not found</body></html>", status=404, validators=False)
        status, headers, body = resource.status, dict(resource.headers), resource.body
        if resource.validators and status == 200:
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            modified = formatdate(resource.last_modified, usegmt=True)
            headers.update({"ETag": etag, "Last-Modified": modified})
            if handler.headers.get("If-None-Match") == etag or (
                    "If-None-Match" not in handler.headers and handler.headers.get("If-Modified-Since") == modified):
                status, body = 304, b""
        handler.send_response(status)
        if status != 304:
            headers.setdefault("Content-Type", resource.content_type)
        for name, value in headers.items():
            handler.send_header(name, value)
        if resource.declare_length or status == 304:
            handler.send_header("Content-Length", str(len(body)))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        # The client may stop reading (an oversized file): what a real server sees too.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(body)
        with self._lock:
            self.log.append(Request(handler.path.split("?")[0], status, started, time.monotonic(),
                                    {k.lower(): v for k, v in handler.headers.items()}))


def article(title: str, text: str, canonical: str | None = None) -> str:
    """An HTML page holding an article, with the navigation and footer a real page has."""
    paragraphs = "".join(f"<p>{html.escape(p.strip())}</p>\n" for p in text.split("\n") if p.strip())
    link = f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    return (f"<!doctype html><html lang=\"en\"><head><title>{html.escape(title)}</title>{link}</head><body>"
            f"<nav><a href=\"/\">Home</a> <a href=\"/about\">About us</a></nav><article><h1>{html.escape(title)}</h1>"
            f"{paragraphs}</article><footer>Contact us</footer></body></html>")


def atom_feed(title: str, entries: list[dict[str, str]], origin: str) -> str:
    """An Atom feed; each entry has title, path, date (YYYY-MM-DD) and optionally author and category."""
    items = []
    for e in entries:
        category = f'<category term="{html.escape(e["category"])}"/>' if e.get("category") else ""
        author = f"<author><name>{html.escape(e['author'])}</name></author>" if e.get("author") else ""
        items.append(f"<entry><title>{html.escape(e['title'])}</title><link href=\"{origin}{e['path']}\"/>"
                     f"<id>{origin}{e['path']}</id><updated>{e['date']}T09:00:00Z</updated>{author}{category}"
                     f"<summary>{html.escape(e['title'])}</summary></entry>")
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>'
            f"<id>{origin}/</id><updated>2024-01-01T00:00:00Z</updated>{''.join(items)}</feed>")


def rss_feed(title: str, entries: list[dict[str, str]], origin: str) -> str:
    items = "".join(f"<item><title>{html.escape(e['title'])}</title><link>{origin}{e['path']}</link>"
                    f"<guid>{origin}{e['path']}</guid><pubDate>Mon, 0{i + 1} Jan 2024 09:00:00 GMT</pubDate>"
                    f"<description>{html.escape(e['title'])}</description></item>"
                    for i, e in enumerate(entries))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>{origin}/</link>'
            f"<description>{title}</description>{items}</channel></rss>")


def sitemap(paths: list[str], origin: str, lastmod: str | None = None) -> str:
    urls = "".join(f"<url><loc>{origin}{p}</loc>{f'<lastmod>{lastmod}</lastmod>' if lastmod else ''}</url>"
                   for p in paths)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


def listing_page(links: list[tuple[str, str]]) -> str:
    anchors = "".join(f'<li><a href="{path}">{html.escape(text)}</a></li>' for path, text in links)
    return (f"<!doctype html><html><head><title>Publications</title></head><body><nav><a href=\"/\">Home</a>"
            f"<a href=\"/about\">About</a></nav><main><h1>Publications</h1><ul>{anchors}</ul></main></body></html>")
