"""Lookups the tests share: sources and failures by the name of the file they came from."""

from __future__ import annotations

import re
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


# RFC 9110 media type: type "/" subtype *( OWS ";" OWS parameter ), parameter = token "=" ( token / quoted-string ).
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAMETER = re.compile(rf'\s*;\s*({_TOKEN})=({_TOKEN}|"(?:[^"\\]|\\.)*")')


def strict_media_type(value: str) -> tuple[str, dict[str, str]]:
    """Parse a Content-Type as strictly as Go's ``mime.ParseMediaType`` (which Prometheus uses): one
    type/subtype, well-formed parameters, none given twice."""
    head = re.match(rf"({_TOKEN}/{_TOKEN})", value)
    assert head, f"no type/subtype in {value!r}"
    at, params = head.end(), {}
    while at < len(value):
        found = _PARAMETER.match(value, at)
        assert found, f"malformed parameter at {value[at:]!r} in {value!r}"
        name = found.group(1).lower()
        assert name not in params, f"parameter {name!r} given twice in {value!r}"
        params[name] = found.group(2).strip('"')
        at = found.end()
    return head.group(1).lower(), params
