"""Storage: where generations live and how they are read, behind one contract.

- :mod:`~index.storage.contract`: what every backend implements and every reader uses
  (``PassageStore``, ``LexicalEngine``, ``GenerationBackend``, ``Generation``, ``Manifest``, ``Build``)
- :mod:`~index.storage.layout`: the data directory's and a generation's file names, declared once
- :mod:`~index.storage.analysis`: the one text analyser both lexical engines use
- :mod:`~index.storage.lexical_retrieval`: lexical retrieval written once against the contract
- :mod:`~index.storage.filters`: Haystack filters compiled to SQL (SQLite and PostgreSQL dialects)
- :mod:`~index.storage.local`: the local files backend; :mod:`~index.storage.postgres`: the shared one

This module is the factory: the settings name a backend, and nothing outside ``storage`` names one.

Usage::

    backend = generations(settings)
    with backend.lock():
        build = backend.begin()
        ...  # write build.store
        backend.publish(build, manifest, keep=3)
    generation = open_generation(settings)
"""

from __future__ import annotations

from collections.abc import Iterator

from index.errors import KBError
from index.settings import Settings
from index.storage.contract import Generation, GenerationBackend


def generations(settings: Settings) -> GenerationBackend:
    """The generation backend the settings name: PostgreSQL when ``store_url`` is set, else the local data directory."""
    if settings.store_url:
        from index.storage.postgres.generations import PgGenerations

        return PgGenerations(settings.store_url, settings.data_dir)
    from index.storage.local.datadir import DataDir

    return DataDir(settings.data_dir)


def open_generation(settings: Settings, gen_id: str | None = None) -> Generation:
    """Open the live generation (or ``gen_id``) read-only, from the settings' backend.

    :raises IndexNotFoundError: when nothing has been published yet.
    :raises IndexIncompatibleError: when its manifest does not fit the settings.
    """
    return generations(settings).open(settings, gen_id)


def migrate(settings: Settings, target_url: str, every: bool = False) -> Iterator[tuple[Generation, bool]]:
    """Copy the local data directory's live generation (``every``: all its published ones, so that rollback
    works there too) into the PostgreSQL store at ``target_url``, making the live one live there; yields each
    generation copied and whether it was made live. Nothing is embedded again; the local files are only read.

    :raises KBError: when there is no local index, the database already holds a generation, or cannot be reached.
    """
    from index.storage.local.datadir import DataDir
    from index.storage.postgres.generations import PgGenerations

    local = DataDir(settings.data_dir)
    live = local.current_id()
    if live is None:
        raise KBError(f"No index in {settings.data_dir} to copy. Build one with: kb ingest corpus "
                      f"--data-dir {settings.data_dir}")
    chosen = [g for g in local.published() if every or g == live]
    backend = PgGenerations(target_url, settings.data_dir)
    with backend.lock():
        for gen_id in chosen:
            generation = local.open(settings, gen_id)
            backend.import_generation(generation, live=gen_id == live)
            yield generation, gen_id == live
