"""Run risky conversions (PDF, Word, HTML, feeds) in a child process with a time and memory limit.

A crafted file can make a parser loop or allocate without bound; the child is killed after
``timeout`` seconds or fails when it passes ``memory_mb`` more than it started with, and the
file is reported, not the whole run.

Children come from a fork server, never from the calling process: by the time a re-index reads
files, the ingest process holds the model's torch and tokenizer threads, and ``fork()`` of a
threaded process copies locks that another thread held, so a child can deadlock. The server is a
fresh single-threaded interpreter (started with fork and exec) that imports the parsers once
(:func:`preload`, which each converter module calls with what it needs); each child is a fork of
it, so a file costs a fork and a pickled ``fn`` and data, not an interpreter start and imports.

Several children may run at once (one per thread that calls :func:`run_limited`):
:func:`default_workers` is how many the converters use.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext
from typing import Any

from ingest.failures import ConversionError
from ingest.quiet import demote_library_logs

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_MB = 1024

_PRELOAD: list[str] = []
_context: ForkServerContext | None = None
_context_lock = threading.Lock()


def preload(*modules: str) -> None:
    """Import these modules once in the fork server, so that no child pays for them.

    Only modules named before the first :func:`run_limited` call are preloaded (the server
    starts then); a module named later is imported by each child that needs it.
    """
    for name in modules:
        if name not in _PRELOAD:
            _PRELOAD.append(name)


def default_workers() -> int:
    """How many conversions run at once: one per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _fork_server() -> ForkServerContext:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            assert isinstance(context, ForkServerContext)
            # Preloading is per interpreter (one fork server each): the list is the sandbox's own.
            context.set_forkserver_preload(["ingest.sandbox", *_PRELOAD])
            _context = context
        return _context


@dataclass(frozen=True)
class _Logging:
    """The caller's logging, for a child to log as it would: the root's level, and its console handlers."""

    level: int
    handlers: tuple[tuple[str, int, str | None], ...]  # (stream "stderr"/"stdout", level, format)

    @classmethod
    def of_caller(cls) -> _Logging:
        root = logging.getLogger()
        handlers = []
        for handler in root.handlers:
            stream = getattr(getattr(handler, "stream", None), "name", None)
            if isinstance(handler, logging.StreamHandler) and stream in ("<stderr>", "<stdout>"):
                fmt = handler.formatter._fmt if handler.formatter is not None else None
                handlers.append((stream.strip("<>"), handler.level, fmt))
        return cls(root.level, tuple(handlers))

    def apply(self) -> None:
        root = logging.getLogger()
        root.setLevel(self.level)
        for stream, level, fmt in self.handlers:
            handler = logging.StreamHandler(sys.stderr if stream == "stderr" else sys.stdout)
            handler.setLevel(level)
            handler.setFormatter(logging.Formatter(fmt))
            root.addHandler(handler)
        # A fork server's child starts with no logging set up: without this, a parser's warnings
        # would reach the console that ``kb ingest -q`` keeps for refusals.
        demote_library_logs()


def _current_vm_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...], memory_mb: int, logs: _Logging) -> None:
    try:
        logs.apply()
        limit = _current_vm_bytes() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        conn.send(("ok", fn(*args)))
    except ConversionError as exc:
        conn.send(("error", (exc.reason, exc.action)))
    except MemoryError:
        conn.send(("error", (f"reading it needed more than {memory_mb} MiB of memory",
                             "check the file is what it claims to be, or split it")))
    except Exception as exc:  # any parser failure is a property of the file, reported as such
        conn.send(("error", (f"it could not be parsed ({type(exc).__name__}: {str(exc)[:200]})",
                             "check the file opens in its usual application; re-save or replace it")))
    finally:
        conn.close()


def run_limited(fn: Callable[..., Any], *args: Any, timeout: float = DEFAULT_TIMEOUT_S,
                memory_mb: int = DEFAULT_MEMORY_MB) -> Any:
    """``fn(*args)`` in a child of the fork server, with limits; ``fn`` must be a module-level function, and
    its arguments and result picklable. Safe to call from several threads at once.

    :raises ConversionError: for anything the child raised, a timeout, or the memory limit.
    """
    context = _fork_server()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, fn, args, memory_mb, _Logging.of_caller()),
                              daemon=True)
    try:
        process.start()
    finally:
        sender.close()
    try:
        if not receiver.poll(timeout):
            raise ConversionError(f"reading it took longer than {timeout:.0f} s",
                                  "check the file is not damaged or crafted; split or re-save it")
        try:
            status, payload = receiver.recv()
        except EOFError:
            raise ConversionError(f"the reader stopped (it may have needed more than {memory_mb} MiB)",
                                  "check the file is what it claims to be, or split it") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receiver.close()
    if status == "error":
        raise ConversionError(*payload)
    return payload
