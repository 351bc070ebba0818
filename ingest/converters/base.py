"""What every converter shares: reading files safely and reporting failures instead of raising."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from haystack import Document, component

from ingest.discover import file_hash, source_path
from ingest.failures import ConversionError, Failure
from ingest.quiet import demote_library_logs
from ingest.sandbox import default_workers

__all__ = ["MAX_FILE_BYTES", "FileConverter", "decode_text"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_FILE_BYTES = 50 * 1024 * 1024


def decode_text(data: bytes) -> str:
    """Decode text in any common encoding; binary data is refused.

    :raises ConversionError: when the bytes are not text.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise ConversionError("the file is binary, not text", "remove it or give it the right extension")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    if best is None:
        raise ConversionError("the file is not text in any encoding we recognise",
                              "save it as UTF-8 text, or give it the right extension")
    text = data.decode(best.encoding, errors="replace")
    controls = sum(1 for c in text[:20000] if ord(c) < 32 and c not in "\n\r\t\f")
    if controls > 0.01 * max(1, len(text[:20000])):
        raise ConversionError("the file is binary, not text", "remove it or give it the right extension")
    return text


class FileConverter:
    """Base of the file converters: subclasses implement :meth:`convert` for one file.

    ``run(sources)`` returns ``documents`` (raw text, meta with ``source``, ``format`` and
    ``content_hash``) and ``failures`` (files skipped, with reason and action), in the order of
    ``sources``. A converter whose parsing runs in the sandbox (``sandboxed``) converts up to
    ``workers`` files at once (threads that each wait on a sandbox child, so the children use
    the CPUs); the others convert one file at a time.
    """

    format_name = "file"
    sandboxed = False
    #: Files converted at once by a sandboxed converter; None: one per CPU (``ingest.sandbox.default_workers``).
    workers: int | None = None

    def convert(self, path: Path, data: bytes) -> list[Document]:
        raise NotImplementedError

    def read_bytes(self, path: Path) -> bytes:
        """The file's bytes, after the size checks.

        :raises ConversionError: for an empty file or one over the size limit.
        """
        size = path.stat().st_size
        if size == 0:
            raise ConversionError("the file is empty (0 bytes)", "remove it or replace it with the full file")
        if size > MAX_FILE_BYTES:
            raise ConversionError(f"the file is {size // (1024 * 1024)} MiB, over the "
                                  f"{MAX_FILE_BYTES // (1024 * 1024)} MiB limit", "split it into parts")
        return path.read_bytes()

    def finish(self, path: Path, data: bytes, doc: Document) -> Document:
        """The converted document with the meta every source has (source, file, format, content hash)."""
        # "file" is absolute, so re-index runs from any working directory match it.
        meta = {"source": source_path(path), **doc.meta, "file": str(path.resolve()), "format": self.format_name,
                "content_hash": file_hash(path, data)}
        # A new Document, so that its id (a hash of content and meta) includes the source: two
        # files with the same text must not collapse into one in the joiner.
        return Document(content=doc.content, meta=meta)

    def attempt(self, path: Path, read: Callable[[Path, bytes], T], failures: list[Failure]) -> tuple[bytes, T] | None:
        """The file's bytes and what ``read`` makes of them; on failure, a ``Failure`` (what went wrong
        and what to do) is added to ``failures`` and None returned."""
        try:
            data = self.read_bytes(path)
            return data, read(path, data)
        except ConversionError as exc:
            failures.append(Failure(str(path), exc.reason, exc.action))
        except OSError as exc:
            failures.append(Failure(str(path), f"it cannot be read ({exc.strerror})", "check its permissions"))
        return None

    def _one(self, path: Path) -> tuple[list[Document], list[Failure]]:
        failures: list[Failure] = []
        attempted = self.attempt(path, self.convert, failures)
        if attempted is None:
            return [], failures
        data, converted = attempted
        return [self.finish(path, data, doc) for doc in converted], failures

    @component.output_types(documents=list[Document], failures=list[Failure])
    def run(self, sources: list[Path]) -> dict[str, Any]:
        demote_library_logs()
        workers = min(len(sources), (self.workers or default_workers()) if self.sandboxed else 1)
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"convert-{self.format_name}") as pool:
                results = list(pool.map(self._one, sources))  # in the order of sources, whatever finishes first
        else:
            results = [self._one(path) for path in sources]
        documents = [doc for converted, _ in results for doc in converted]
        failures = [failure for _, failed in results for failure in failed]
        return {"documents": documents, "failures": failures}
