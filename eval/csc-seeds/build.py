"""Build the csc-seeds BEIR corpus from the sample corpus: one record per paragraph.

Run from the repository root: ``python eval/csc-seeds/build.py`` (rewrites corpus.jsonl; the
queries and judgements in queries.jsonl and qrels/test.tsv refer to its ids, so the splitting
rule below must not change once they are written).

A paragraph is a run of non-blank lines; paragraphs under 25 words join the next one
(headings, bylines) and paragraphs over 150 words are cut between sentences. Lines of navigation
chrome are kept, as they are in the raw pages, so that the collection also tests that ranking is
not fooled by them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIN_WORDS = 25
MAX_WORDS = 150
SENTENCE_END = re.compile(r"(?<=[.!?”\"])\s+(?=[A-Z“\"£])")


def _cut(paragraph: str) -> list[str]:
    """A paragraph over MAX_WORDS, cut between sentences into pieces of about MAX_WORDS / 2 or more."""
    if len(paragraph.split()) <= MAX_WORDS:
        return [paragraph]
    pieces, current = [], ""
    for sentence in SENTENCE_END.split(paragraph):
        current = f"{current} {sentence}".strip()
        if len(current.split()) >= MAX_WORDS // 2:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def paragraphs(text: str) -> list[str]:
    blocks = [" ".join(b.split()) for b in re.split(r"\n\s*\n", text) if b.strip()]
    merged: list[str] = []
    pending = ""
    for block in blocks:
        pending = f"{pending} {block}".strip()
        if len(pending.split()) >= MIN_WORDS:
            merged.append(pending)
            pending = ""
    if pending:
        if merged:
            merged[-1] = f"{merged[-1]} {pending}"
        else:
            merged.append(pending)
    return [piece for paragraph in merged for piece in _cut(paragraph)]


def main() -> None:
    out = Path(__file__).with_name("corpus.jsonl")
    with out.open("w", encoding="utf-8") as handle:
        for path in sorted((ROOT / "tests" / "fixtures" / "corpus").glob("*.txt")):
            title = json.loads(path.with_name(path.name + ".meta.json").read_text(encoding="utf-8"))["title"]
            for n, text in enumerate(paragraphs(path.read_text(encoding="utf-8")), start=1):
                record = {"_id": f"{path.stem[:3]}-{n:02d}", "title": title, "text": text}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
