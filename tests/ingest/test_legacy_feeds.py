"""Feeds in a legacy encoding with no declared charset are read in that charset, never as mojibake (issue 25)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.converters.feed import MOJIBAKE_MESS, FeedConverter, detect_encoding, mojibake

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy-feeds"

# (file, encoding detected, words its text must hold, as a reader would search them); gb2312.xml, big5.xml,
# tis620.xml and windows1255.xml have entries with a title and no text, which no feed reading indexes.
EXPECTED = [
    ("koi8r.xml", "KOI8-R", ["Как пережить новогоднюю ночь", "Новый год"]),
    ("shiftjis.xml", "SHIFT-JIS", ["DrecomRSSに記事投稿が反映されない"]),
    ("eucjp.xml", "EUC-JP", ["ゲーム三昧な正月"]),
    ("euckr.xml", "EUC-KR", ["한글닉네임"]),
]


@pytest.mark.parametrize("name, encoding, words", EXPECTED)
def test_an_undeclared_legacy_encoding_is_detected_and_read(name, encoding, words):
    out = FeedConverter().run(sources=[LEGACY / name])
    assert not out["failures"], out["failures"]
    text = "\n".join(f"{d.meta['embedded']['title']}\n{d.content}" for d in out["documents"])
    for word in words:
        assert word in text
    assert mojibake(text) < MOJIBAKE_MESS
    assert f"read as {encoding}" in out["documents"][0].meta["notes"]


def test_every_legacy_feed_decodes_cleanly_and_the_wrong_guess_would_not():
    for path in sorted(LEGACY.glob("*.xml")):
        data = path.read_bytes()
        text, _ = detect_encoding(data)
        assert mojibake(text) < MOJIBAKE_MESS, path.name
        # What the converter did before: ISO-8859-1 for any undeclared non-UTF-8 feed. The measure tells it apart.
        assert mojibake(data.decode("latin-1")) > mojibake(text), path.name


def test_a_mostly_ascii_latin_feed_stays_windows_1252():
    data = ("<rss><channel><item><title>Crianças em acolhimento: São Paulo amplia serviço</title>"
            "<description>Educação e saúde.</description></item></channel></rss>").encode("cp1252")
    text, encoding = detect_encoding(data)
    assert encoding == "WINDOWS-1252" and "Crianças" in text and "saúde" in text
