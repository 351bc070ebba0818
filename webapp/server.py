"""Production serving with gunicorn.

The app is preloaded, but the query encoder is loaded in each worker after the fork (thread pools do
not survive fork), warmed before the worker takes requests. It runs on ONNX Runtime with the graph the
generation's build exported, so neither process imports torch (``index.embedding.no_torch``,
:func:`keep_torch_out`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from werkzeug.serving import WSGIRequestHandler

from index.settings import Settings

logger = logging.getLogger(__name__)

# Compiled by scripts/build-assets.mjs (not in git); the package build (setup.py) runs it. Without them every
# page is unstyled and the GOV.UK scripts 404, with no error anywhere, so serving refuses instead.
ASSETS_DIR = Path(__file__).resolve().parent / "static" / "build"
REQUIRED_ASSETS = ("app.css", "govuk-frontend.min.js", "manifest.json")
BUILD_COMMAND = "npm ci && npm run build"


def missing_assets_message() -> str | None:
    """One line saying how to build the compiled web assets, or None when they are all there."""
    missing = [name for name in REQUIRED_ASSETS if not (ASSETS_DIR / name).is_file()]
    if not missing:
        return None
    return (f"the compiled web assets ({', '.join(missing)}) are missing from this installation: run "
            f"`{BUILD_COMMAND}` in the source tree (or `bash scripts/install.sh`), then install it again")


@contextlib.contextmanager
def multiprocess_metrics(enabled: bool) -> Iterator[None]:
    """Give prometheus_client's multiprocess mode an empty directory while the server runs.

    Entered before the app (and so prometheus_client, which picks its value class on import) is
    loaded. An operator's own ``$PROMETHEUS_MULTIPROC_DIR`` is used, emptied of the last run's counts;
    otherwise a fresh one is made and removed at exit.
    """
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not enabled:
        yield
    elif configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield
    else:
        made = tempfile.mkdtemp(prefix="kb-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
        try:
            yield
        finally:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(made, ignore_errors=True)


def _worker_exited(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# The access log's atoms that hold a URL (or the query string itself): each is logged without its query.
# A search's words are in the query string; so are the referring page's, and a redirect's Location's.
URL_ATOMS = ("r", "f", "{referer}i", "{location}o", "{raw_uri}e", "{request_uri}e", "{http_referer}e")
QUERY_ATOMS = ("q", "{query_string}e")


def without_query(url: str) -> str:
    """``url`` (or a request line) without its query string and fragment: ``GET /search?q=x HTTP/1.1`` →
    ``GET /search HTTP/1.1``."""
    head, space, tail = url.partition(" ")
    if space and tail:  # a request line: method, target, protocol
        target, _, protocol = tail.rpartition(" ")
        return f"{head} {without_query(target)} {protocol}" if target else f"{head} {without_query(tail)}"
    return url.split("?", 1)[0].split("#", 1)[0]


class PrivateAccessLogger(Logger):
    """gunicorn's logger with every query string left out of the access log, whatever its format: the
    log keeps the path, status, size and time of each request, never the words searched for."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in URL_ATOMS:
            if isinstance(atoms.get(name), str):
                atoms[name] = without_query(atoms[name])
        for name in QUERY_ATOMS:
            if name in atoms:
                atoms[name] = "-"
        return atoms


class PrivateRequestHandler(WSGIRequestHandler):
    """Flask's own server (``kb serve --dev``) logging each request's path without its query string."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        line, path = self.requestline, getattr(self, "path", None)
        self.requestline = without_query(line)
        if path is not None:
            self.path = without_query(path)
        try:
            super().log_request(code, size)
        finally:
            self.requestline = line
            if path is not None:
                self.path = path


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def _warm_worker(worker: Any) -> None:
    from index.errors import KBError

    handle = worker.app.application.extensions["kb_index"]
    try:
        served = handle.served()
        handle.embedder.warm_up()
        # Built once per generation; the first page that needs them would otherwise wait.
        served.facet_table  # noqa: B018
        served.browse  # noqa: B018
    except KBError as exc:  # the first request will show the same message as a page
        logger.error("Worker could not warm up: %s", exc)
    # The model, the libraries and the generation's pages are half a million objects that live as
    # long as the worker: a full collection walked them all, a 250 ms pause in some request every
    # so often (the p95 of benchmarks/bench_scale.py). Frozen, collections skip them.
    gc.collect()
    gc.freeze()


def keep_torch_out(settings: Settings) -> bool:
    """Before the app is imported: refuse torch and sentence-transformers in the server's processes unless a
    setting needs them (a cross-encoder, ``rerank_model``; the torch int8 query model, ``query_int8``). A
    generation without an exported query graph lets torch in again, in the workers, with a warning.

    :returns: whether they are kept out.
    """
    if settings.rerank_model or settings.query_int8:
        return False
    from index.embedding import no_torch

    return no_torch.forbid()


def _load_encoder_before_fork(app: Flask) -> None:
    """Load the ONNX query encoder in the master when it runs on one thread: ONNX Runtime then starts no thread
    pool (nothing for fork to break), and the workers share the graph's ~90 MB of weights copy-on-write instead of
    loading a copy each. torch, or more threads, still load in each worker after the fork."""
    handle = app.extensions.get("kb_index")
    if handle is None or handle.settings.query_threads != 1:
        return
    embedder = handle.embedder
    if embedder.engine == "onnx":
        embedder.warm_up()


def run_gunicorn(app: Flask, host: str, port: int, workers: int) -> None:
    _load_encoder_before_fork(app)
    _Gunicorn(app, {"bind": f"{host}:{port}", "workers": workers, "threads": 4, "preload_app": True,
                    "timeout": 60, "accesslog": "-", "logger_class": PrivateAccessLogger,
                    "post_worker_init": _warm_worker,
                    "child_exit": _worker_exited,
                    # The search form posts, but a link may still carry a pasted paragraph (/search?q=…, moved
                    # to an id at once): 6,000 characters of prose, encoded, need more than the default 4,094
                    # bytes of request line; 8,190 is the most gunicorn allows.
                    "limit_request_line": 8190}).run()
