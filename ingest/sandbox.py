"""Run risky conversions (PDF, Word, HTML, feeds) in a child process with a time and memory limit.

A crafted file can make a parser loop or allocate without bound; the child is killed after
``timeout`` seconds or fails when it passes ``memory_mb`` more than it started with, and the
file is reported, not the whole run.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from typing import Any

from ingest.failures import ConversionError

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_MB = 1024


def _current_vm_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...], memory_mb: int) -> None:
    try:
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
    """``fn(*args)`` in a forked child with limits; its result must be picklable.

    :raises ConversionError: for anything the child raised, a timeout, or the memory limit.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, fn, args, memory_mb), daemon=True)
    process.start()
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
