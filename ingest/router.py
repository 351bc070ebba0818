"""Route each discovered file to the converter of its format (content sniffing, then extension)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from haystack import component

import ingest.converters  # noqa: F401  (registers every format)
from ingest.failures import Failure
from ingest.formats import FORMATS, detect


@component
class FormatRouter:
    """One output per registered format, plus ``failures`` for files no converter reads.

    :param force_format: send every file to this format's converter instead of detecting it.
    :raises ValueError: for an unknown format name.
    """

    def __init__(self, force_format: str | None = None) -> None:
        if force_format is not None and force_format not in FORMATS:
            raise ValueError(f"Unknown format {force_format!r}; use one of {', '.join(sorted(FORMATS))}.")
        self.force_format = force_format
        component.set_output_types(self, failures=list[Failure], **{name: list[Path] for name in FORMATS})

    def run(self, sources: list[Path]) -> dict[str, Any]:
        routed: dict[str, Any] = {name: [] for name in FORMATS}
        failures: list[Failure] = []
        for path in sources:
            try:
                with open(path, "rb") as handle:
                    head = handle.read(4096)
            except OSError as exc:
                failures.append(Failure(str(path), f"it cannot be read ({exc.strerror})", "check its permissions"))
                continue
            fmt = FORMATS[self.force_format] if self.force_format else detect(path, head)
            if fmt is None:
                failures.append(Failure(str(path), f"no converter reads {path.suffix or 'files without an extension'}",
                                        "convert it to a supported format: " + ", ".join(sorted(FORMATS))))
                continue
            routed[fmt.name].append(path)
        routed["failures"] = failures
        return routed
