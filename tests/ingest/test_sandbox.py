"""Risky parsers run in a child process that cannot hang the run or exhaust its memory."""

import time

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


def test_very_large_files_are_refused_before_reading(tmp_path, monkeypatch):
    from ingest.converters import base
    from ingest.converters.text import TextConverter

    monkeypatch.setattr(base, "MAX_FILE_BYTES", 1024)
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000)
    result = TextConverter().run(sources=[big])
    assert result["documents"] == []
    assert "over the" in result["failures"][0].reason and "split it" in result["failures"][0].action
