"""The web app's view of the index: the live generation's searcher, swapped when CURRENT changes.

Each request asks for the searcher; the generation backend's cheap live stamp (a stat of CURRENT
for local files) tells whether a new generation was published. The new one is opened and swapped
in; requests already running keep the old one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable

from flask import Flask, Response, current_app, g, has_request_context

from index.embedding.encoders import QueryEmbedder, query_embedder
from index.search.searcher import Searcher
from index.served import ServedGeneration
from index.settings import Settings
from index.storage import generations
from index.storage.contract import Generation

logger = logging.getLogger(__name__)


class IndexHandle:
    """Holds the searcher for the live generation and reopens it when CURRENT changes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.backend = generations(settings)
        self._embedder: QueryEmbedder | None = None
        self._embedder_key: str | None = None  # the query graph it was made for
        self._served: ServedGeneration | None = None
        self._stamp: Hashable | None = None
        self._lock = threading.Lock()

    @property
    def embedder(self) -> QueryEmbedder:
        """The process's query embedder, for the live generation's exported query graph (on torch when it has
        none, or before any generation is open)."""
        if self._embedder is None:
            served = self._served
            self._embedder = query_embedder(self.settings, served.generation.manifest if served else None)
        return self._embedder

    def _embedder_for(self, generation: Generation) -> QueryEmbedder:
        # Shared by every generation whose build exported the same query graph (the same model: a model change
        # rebuilds everything); a generation naming another graph, or none, gets its own.
        key = generation.manifest.query_graph
        if self._embedder is None or key != self._embedder_key:
            self._embedder = query_embedder(self.settings, generation.manifest)
            self._embedder_key = key
        return self._embedder

    def served(self) -> ServedGeneration:
        """The live generation's services (searcher, browse pages, facets), reopened when another generation
        becomes live; requests already running finish on the one they had.

        :raises IndexNotFoundError: when nothing has been published yet.
        :raises IndexIncompatibleError: when the live generation does not fit the settings.
        """
        stamp = self.backend.live_stamp()
        served = self._served
        if served is None or stamp != self._stamp:
            with self._lock:
                if self._served is None or stamp != self._stamp:
                    generation = self.backend.open(self.settings)
                    self._served = ServedGeneration(self.settings, generation, self._embedder_for(generation))
                    self._stamp = stamp
                    logger.info("Serving generation %s", generation.id)
                served = self._served
        if has_request_context():
            g.kb_generation = served.generation.id
        return served

    def searcher(self) -> Searcher:
        """The live generation's searcher (:meth:`served`)."""
        return self.served().searcher


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["kb_index"] = IndexHandle(settings)

    @app.after_request
    def name_the_generation(response: Response) -> Response:
        # Which generation answered (the id /api/health shows): replicas behind a load balancer can be told
        # apart during a re-index, and a cache can key on it.
        generation = g.get("kb_generation")
        if generation:
            response.headers["KB-Generation"] = generation
        return response


def get_index() -> IndexHandle:
    return current_app.extensions["kb_index"]
