"""Production serving with gunicorn.

The app is preloaded, but the embedding model is loaded in each worker after the fork (torch's
thread pools do not survive fork), warmed before the worker takes requests.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

logger = logging.getLogger(__name__)


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
        handle.embedder.warm_up()
        searcher = handle.searcher()
        # Built once per generation; the first page that needs them would otherwise wait.
        searcher.facet_table  # noqa: B018
        searcher.browse  # noqa: B018
    except KBError as exc:  # the first request will show the same message as a page
        logger.error("Worker could not warm up: %s", exc)


def run_gunicorn(app: Flask, host: str, port: int, workers: int) -> None:
    _Gunicorn(app, {"bind": f"{host}:{port}", "workers": workers, "threads": 4, "preload_app": True,
                    "timeout": 60, "accesslog": "-", "post_worker_init": _warm_worker}).run()
