"""Risky parsers run in a child process that cannot hang the run or exhaust its memory, started from a
clean fork server (never forked from the caller, which may hold model threads), several at once."""

import io
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ingest.converters.base import ConversionError
from ingest.sandbox import run_limited

pytestmark = pytest.mark.unit


def _sleep_forever(_: bytes) -> None:
    time.sleep(60)


def _allocate(_: bytes) -> int:
    blocks = [bytearray(64 * 1024 * 1024) for _ in range(64)]  # 4 GiB, well past the limit
    return len(blocks)


def _explode(_: bytes) -> None:
    raise ValueError("unexpected structure")


def _double(data: bytes) -> bytes:
    return data * 2


# State only the calling process has at run time: a child forked from the caller would see it.
_CALLER_ONLY: list[int] = []
_HELD = threading.Lock()


def _caller_state() -> int:
    return len(_CALLER_ONLY)


def _parent_pid() -> int:
    return os.getppid()


def _take_the_lock() -> bool:
    return _HELD.acquire(timeout=5)


def _meet(folder: str, name: str) -> bool:
    """True when the other child arrives in ``folder`` while this one is still running."""
    Path(folder, name).touch()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if len(list(Path(folder).iterdir())) >= 2:
            return True
        time.sleep(0.02)
    return False


def test_result_comes_back():
    assert run_limited(_double, b"ab") == b"abab"


def test_a_hanging_parser_is_stopped():
    started = time.monotonic()
    with pytest.raises(ConversionError, match="longer than 1 s"):
        run_limited(_sleep_forever, b"", timeout=1)
    assert time.monotonic() - started < 10


def test_a_memory_hungry_parser_is_stopped():
    with pytest.raises(ConversionError, match="MiB"):
        run_limited(_allocate, b"", memory_mb=256)


def test_parser_errors_name_the_problem():
    with pytest.raises(ConversionError, match="ValueError: unexpected structure"):
        run_limited(_explode, b"")


def test_children_do_not_come_from_the_calling_process():
    _CALLER_ONLY.append(1)
    try:
        assert run_limited(_caller_state) == 0
        assert run_limited(_parent_pid) != os.getpid()
    finally:
        _CALLER_ONLY.clear()


def test_a_lock_another_thread_holds_cannot_deadlock_a_child():
    # The hazard of fork() in a threaded process (torch, tokenizers): a child inherits locks held
    # by threads that do not exist in it. From the fork server, the child's lock is its own.
    release = threading.Event()

    def hold() -> None:
        with _HELD:
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        while not _HELD.locked():
            time.sleep(0.01)
        assert run_limited(_take_the_lock, timeout=30) is True
    finally:
        release.set()
        holder.join()


def test_calls_from_two_threads_run_their_children_at_once(tmp_path):
    with ThreadPoolExecutor(max_workers=2) as pool:
        met = list(pool.map(lambda name: run_limited(_meet, str(tmp_path), name, timeout=40), ["a", "b"]))
    assert met == [True, True]


def _log_in_child() -> tuple[int, str]:
    root = logging.getLogger()
    out = io.StringIO()
    for handler in root.handlers:
        handler.setStream(out)
    logging.getLogger("pypdf._cmap").warning("font dictionary")
    logging.getLogger("ingest.converters.pdf").warning("kept")
    return root.level, out.getvalue()


def test_a_child_logs_as_the_caller_does_with_parser_chatter_demoted():
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.__stderr__)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # as `kb ingest` sets it up
    try:
        level, out = run_limited(_log_in_child)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert level == logging.WARNING
    assert out == "WARNING ingest.converters.pdf: kept\n"


def test_very_large_files_are_refused_before_reading(tmp_path, monkeypatch):
    from ingest.converters import base
    from ingest.converters.text import TextConverter

    monkeypatch.setattr(base, "MAX_FILE_BYTES", 1024)
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000)
    result = TextConverter().run(sources=[big])
    assert result["documents"] == []
    assert "over the" in result["failures"][0].reason and "split it" in result["failures"][0].action
