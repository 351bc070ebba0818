"""Lookups the tests share: sources and failures by the name of the file they came from."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from index.storage.local.store import KBDocumentStore, SourceRecord
from ingest.failures import Failure


def file_name(source: str) -> str:
    """The file name of a source path (without a ``#entry`` fragment); a web address stays whole."""
    if "://" in source:
        return source
    return PurePosixPath(source.split("#")[0]).name


def sources_by_file_name(store: KBDocumentStore) -> dict[str, SourceRecord]:
    """Every source in the store, with its text, by the name of its file (``"004_7b87d5ffdc1c3793.txt"``)."""
    records = (store.get_source(source_id) for source_id in store.source_ids())
    return {file_name(record.source): record for record in records if record is not None}


def corpus_sources_by_number(store: KBDocumentStore) -> dict[str, SourceRecord]:
    """Sources of the sample corpus by the number its file names start with (``"004"``)."""
    return {name[:3]: record for name, record in sources_by_file_name(store).items()}


def failures_by_file_name(failures: Iterable[Failure]) -> dict[str, str]:
    """Why each file failed, by its name."""
    return {file_name(failure.path): failure.reason for failure in failures}
