"""The format registry: each converter module registers the format it reads; the router uses it.

Adding a format is one module in ``ingest/converters/`` that calls :func:`register`; the
converters package imports every module in it, so nothing else changes.

Usage::

    register(Format("text", (".txt",), sniff=None, converter=TextConverter, priority=0))
    fmt = detect(path, head_bytes)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Format:
    """A readable format.

    :param name: short name, also the router's output socket name.
    :param extensions: lower-case file extensions with the dot.
    :param sniff: recognises the format from a file's first bytes, whatever its extension.
    :param converter: a factory for the Haystack converter component.
    :param priority: higher is tried first when sniffing.
    """

    name: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes], bool] | None
    converter: Callable[[], Any]
    priority: int = 0


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


def detect(path: Path, head: bytes) -> Format | None:
    """The format of a file: by its content where a sniffer recognises it, else by extension."""
    for fmt in sorted(FORMATS.values(), key=lambda f: -f.priority):
        if fmt.sniff is not None and fmt.sniff(head):
            return fmt
    suffix = path.suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.extensions:
            return fmt
    return None
