"""Find the files to ingest under the paths a user gives."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from index.errors import IngestError

SIDECAR_SUFFIX = ".meta.json"
# Configuration that lives beside the documents and is never a document itself.
CONFIG_NAMES = frozenset({"canaries.yaml", "projects.yaml"})
# A README found in a folder describes the folder (what it holds, where it came from, its licence): it is not
# evidence, and ranked as a source it took places from reports (2nd for "birmingham ofsted 2023" over
# ../shared/corpora, issue 24). Named as a path on its own, it is ingested like any file.
FOLDER_DESCRIPTION_STEM = "readme"


def is_folder_description(path: Path) -> bool:
    """Whether a file found in a folder is the folder's README (README, README.md, readme.txt, ...)."""
    return path.stem.lower() == FOLDER_DESCRIPTION_STEM or path.name.lower() == FOLDER_DESCRIPTION_STEM


def source_path(path: str | Path) -> str:
    """The name a file's sources go by, and so their ids (``ingest.metadata.source_id_for``): the file's
    absolute path as the user named it, a link not followed. ``kb ingest`` and ``kb reindex`` both name
    files so, from any working directory, so that a re-index keeps the ids an ingest gave (a folder of
    links keeps its names even when their targets move). Change detection uses the resolved path instead
    (the ``file`` a source records)."""
    return os.path.abspath(path)


def is_sidecar(path: Path) -> bool:
    return path.name.endswith(SIDECAR_SUFFIX)


def sidecar_for(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def file_hash(path: Path, data: bytes | None = None) -> str:
    """What ``kb reindex`` compares to tell a changed file: the SHA-256 of its bytes and, when it has a
    sidecar, of the sidecar's too (an edited sidecar, such as the harvest marking a page gone, is a change).
    A file without a sidecar hashes as its bytes alone, as before sidecars counted.

    :param data: the file's bytes, when the caller has read them already.
    """
    digest = hashlib.sha256()
    if data is None:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update(data)
    sidecar = sidecar_for(path)
    try:
        extra = sidecar.read_bytes()
    except FileNotFoundError:
        return digest.hexdigest()
    digest.update(b"\0sidecar\0" + extra)
    return digest.hexdigest()


def discover(paths: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> list[Path]:
    """Files under ``paths`` (recursively), sorted, without hidden files, metadata sidecars, configuration
    files (``canaries.yaml``, ``projects.yaml``), the READMEs that describe a folder (a README named as a path
    itself is kept) and ``exclude``.

    :raises IngestError: when a path does not exist.
    """
    excluded = {Path(p).resolve() for p in exclude if p}
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise IngestError(f"{path} does not exist. Check the path, or give a directory such as corpus/.")
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for candidate in candidates:
            relative = candidate.relative_to(path) if path.is_dir() else Path(candidate.name)
            if any(part.startswith(".") for part in relative.parts) or is_sidecar(candidate):
                continue
            if candidate.name in CONFIG_NAMES:
                continue
            if path.is_dir() and is_folder_description(candidate):
                continue
            if excluded and candidate.resolve() in excluded:
                continue
            found[candidate] = None
    return list(found)
