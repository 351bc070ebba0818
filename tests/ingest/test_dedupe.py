"""Near-duplicate folding from stored signatures: the same groups as hashing the text again."""

import pytest

from index.records import SourceRecord
from ingest import dedupe
from ingest.dedupe import fold_duplicates, signature

pytestmark = pytest.mark.unit

TEXT = " ".join(f"Family group conference number {i} kept the young person at home with kin." for i in range(40))


def _record(source_id: str, content: str, url: str | None = None) -> SourceRecord:
    return SourceRecord(id=source_id, source=f"{source_id}.txt", title=source_id, type="report", content=content,
                        content_hash=source_id, url=url)


def test_stored_signatures_fold_as_the_text_does(monkeypatch):
    records = [_record("a", TEXT, url="https://example.org/a"), _record("b", TEXT + " One more sentence."),
               _record("c", "Something else entirely. " * 40)]
    fresh = fold_duplicates(records)
    stored = {r.id: signature(r) for r in records}
    calls = []
    monkeypatch.setattr(dedupe, "_minhash", lambda text: calls.append(text))
    again = fold_duplicates(records, signatures=dict(stored))
    assert again == fresh and not calls, "stored signatures are used, the text is not hashed again"
    assert [r.duplicate_of for r in again] == [None, "a", None]


def test_missing_signatures_are_computed_and_kept():
    records = [_record("a", TEXT), _record("short", "Too short to judge.")]
    known: dict[str, bytes] = {}
    fold_duplicates(records, signatures=known)
    assert set(known) == {"a", "short"}
    assert known["short"] == b"" and len(known["a"]) == 128 * 8
