"""Count text that is not the publication in the passages (issue 25, item 4), and sample passages.

Reads every file under the given paths as ``kb ingest`` does up to the passages (read pipeline,
publisher boilerplate, cleaner, metadata, splitter with the default settings; nothing is embedded
or written) and counts, per shape, the passages holding it:

* ``back matter``: a publisher's complaints address, telephone or textphone line, "© Crown copyright",
  a licence or newsletter notice, "a copy of this document in a different format";
* ``contents page``: dot leaders, or five or more "Heading 7" entries in a row (a flattened contents page);
* ``broken word``: two tokens whose join is a word the document uses elsewhere while the second
  part is not ("plan ning", "implemente d");
* ``paragraph number``: a numbered paragraph's label inside running text ("for them. 17. Arrangements");
* ``footnote digit``: a footnote mark glued to a word ("Board1", "areas3") where the bare word is in the document;
* ``judgement header``: the judgement table's header ("Judgement Grade") before its first row.

    PYTHONPATH=. .venv/bin/python benchmarks/count_non_publication.py [PATH ...] [--sample 50 --save FILE]
        [--compare FILE]   # default paths: ../shared/corpora corpus

``--save`` writes a seeded sample of passages (source, text) to compare after a change; ``--compare``
prints each saved passage beside the passage of the same source that now overlaps it most.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ingest.publication import Vocabulary, broken_words, footnote_marks

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BACK_MATTER = re.compile(
    r"©\s*Crown copyright|Piccadilly Gate|Store Street,? Manchester|Textphone|0300 ?123 ?(?:1231|4234)|"
    r"enquiries@ofsted\.gov\.uk|subscribe to our (?:monthly )?newsletter|copy of this document in a different format|"
    r"You may reuse this information|Open Government Licence,? visit|The National Archives, Kew|"
    r"Reference no\. \d{6}|psi@nationalarchives", re.IGNORECASE)
DOT_LEADERS = re.compile(r"(?:\.\s?){5,}\s*\d{1,3}\b|…{2,}\s*\d")
CONTENTS_RUN = re.compile(r"(?:[A-Za-z)’'?][ \t]+\d{1,3}[ \t\n]+(?=[A-Z0-9])){5,}")
PARAGRAPH_NUMBER = re.compile(r"[a-z)][.!?]\s+\d{1,3}\.\s+[A-Z]")
JUDGEMENT_HEADER = re.compile(r"\bJudgement\s+Grade\b")
WORD = re.compile(r"[A-Za-z]+")


def _around(text: str, start: int, end: int) -> str:
    return " ".join(text[max(0, start - 60): end + 60].split())


def shapes_in(passage: str, vocabulary: Vocabulary) -> list[tuple[str, str]]:
    """The non-publication shapes a passage holds, each named once with the text around its first instance.
    Broken words and footnote marks are counted by the cleaner's own definition (``ingest/publication.py``:
    against the document's vocabulary and an English word list); the other shapes by the patterns above."""
    found = []
    if match := BACK_MATTER.search(passage):
        found.append(("back matter", _around(passage, match.start(), match.end())))
    if match := DOT_LEADERS.search(passage) or CONTENTS_RUN.search(passage):
        found.append(("contents page", _around(passage, match.start(), match.end())))
    if broken := broken_words(passage, vocabulary):
        at = passage.index(broken[0])
        found.append(("broken word", _around(passage, at, at + len(broken[0]))))
    if match := PARAGRAPH_NUMBER.search(passage):
        found.append(("paragraph number", _around(passage, match.start(), match.end())))
    if marks := footnote_marks(passage, vocabulary):
        at = passage.index(marks[0])
        found.append(("footnote digit", _around(passage, at, at + len(marks[0]))))
    if match := JUDGEMENT_HEADER.search(passage):
        found.append(("judgement header", _around(passage, match.start(), match.end())))
    return found


def passages_of(paths: list[str]) -> list[dict[str, Any]]:
    from index import offline  # noqa: F401
    from index.settings import load_settings
    from ingest.boilerplate import BoilerplateStripper, learn
    from ingest.build import read_files
    from ingest.clean import BoilerplateCleaner
    from ingest.discover import discover
    from ingest.metadata import MetadataResolver
    from ingest.split import PassageSplitter

    settings = load_settings(env={})
    out = []
    for root in paths:
        documents, _ = read_files(discover([root]), False, None)
        stripped = BoilerplateStripper(learn(documents).to_json()).run(documents)["documents"]
        resolved = MetadataResolver().run(BoilerplateCleaner().run(stripped)["documents"])["documents"]
        splitter = PassageSplitter(settings.chunk_min_words, settings.chunk_max_words, settings.chunk_overlap_words)
        for doc in resolved:
            vocabulary = Vocabulary.of(doc.content or "")
            for passage in splitter.run([doc])["documents"]:
                found = shapes_in(passage.content or "", vocabulary)
                out.append({"source": Path(doc.meta["source"]).name, "root": Path(root).name,
                            "text": passage.content or "", "shapes": [name for name, _ in found],
                            "where": [snippet for _, snippet in found]})
    return out


def _overlap(a: str, b: str) -> float:
    wa, wb = set(WORD.findall(a.lower())), set(WORD.findall(b.lower()))
    return len(wa & wb) / max(1, len(wa | wb))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT.parent / "shared" / "corpora"), str(ROOT / "corpus")])
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--save", type=Path, help="write a seeded sample of passages here (JSON)")
    parser.add_argument("--compare", type=Path, help="a saved sample: show each beside today's passage")
    parser.add_argument("--verbose", action="store_true", help="print each passage holding a shape")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    passages = passages_of(args.paths)
    print("| corpus | passages | " + " | ".join(SHAPES) + " |\n| --- | ---: |" + " ---: |" * len(SHAPES))
    for root in dict.fromkeys(p["root"] for p in passages):
        rows = [p for p in passages if p["root"] == root]
        counts = Counter(s for p in rows for s in p["shapes"])
        print(f"| {root} | {len(rows)} | " + " | ".join(str(counts[s]) for s in SHAPES) + " |")
    if args.verbose:
        for p in passages:
            if p["shapes"]:
                for name, where in zip(p["shapes"], p["where"], strict=True):
                    print(f"[{name}] {p['source']}: …{where}…")
    if args.save:
        sample = random.Random(25).sample(passages, min(args.sample, len(passages)))
        args.save.write_text(json.dumps(sample, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.compare:
        saved = json.loads(args.compare.read_text(encoding="utf-8"))
        changed = 0
        for number, old in enumerate(saved, 1):
            same = [p for p in passages if p["source"] == old["source"]]
            new = max(same, key=lambda p: _overlap(p["text"], old["text"]))["text"] if same else ""
            if " ".join(new.split()) != " ".join(old["text"].split()):
                changed += 1
                print(f"\n### {number}. {old['source']} (before: {', '.join(old['shapes']) or 'no shape'})\n"
                      f"BEFORE: {' '.join(old['text'].split())[:600]}\nAFTER:  {' '.join(new.split())[:600]}")
        print(f"\n{changed} of {len(saved)} sampled passages changed")
    return 0


SHAPES = ("back matter", "contents page", "broken word", "paragraph number", "footnote digit", "judgement header")

if __name__ == "__main__":
    sys.exit(main())
