"""Production serving with gunicorn (preloaded app, so workers share the model's memory pages)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


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


def run_gunicorn(app: Flask, host: str, port: int, workers: int) -> None:
    _Gunicorn(app, {"bind": f"{host}:{port}", "workers": workers, "threads": 4, "preload_app": True,
                    "timeout": 60, "accesslog": "-"}).run()
