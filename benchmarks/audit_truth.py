"""Truth audit (issue 23): what the search says, checked against the sources' own text, through the HTTP API only.

    PYTHONPATH=. .venv/bin/python benchmarks/audit_truth.py --url http://127.0.0.1:5000 [--words 30] [--json F]

Reads every source back (``/api/search`` listings by type, then ``/api/documents/<id>``: its text, title,
publisher and authors) and checks:

(a) **Sets**: single-word searches across the frequency range (words chosen from the sources' own text at
    evenly spaced document frequencies) find every source whose text, title, publisher or author holds the
    word (the word or a word with its stem, as the index analyses words), over every page of results.
(b) **Facet counts**: for each query, every facet value shown: its count equals the ``total`` of the same
    search with that value ticked.
(c) **Statements**: every "is in its …" / "is not in it" word statement of every result's "why", and every
    result's label (``all``: every word held, as typed or through the word shown for it; ``some``: at least
    one; ``meaning``: none of the words typed), true of that source's text.

Prints each check's passed/total and the first failures; exit 1 when any fails. ``audit(client)`` is the same
for a test (``tests/test_truth_audit.py`` runs it on the tests' corpus in CI).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from index.records import SOURCE_TYPES
from index.search.query import FUNCTION_WORDS
from index.storage.analysis import analyzer, holds

Get = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]
# Multi-word queries audited for facets and statements beside the single words (written for this audit, not
# taken from the judged query sets).
QUERIES = ("adolescents edge of care", "what works for neglect", "care leavers staying put", "LAC outcomes",
           "social work", "family safeguarding model", "children missing from education",
           "how do councils recruit foster carers")
PAGE_SIZE = 50


def http_get(base: str) -> Get:
    """A ``get(path, params) -> (status, json)`` over HTTP."""
    def get(path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        url = base.rstrip("/") + path + "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
    return get


@dataclass
class Source:
    id: str
    title: str
    publisher: str
    authors: list[str]
    text: str
    tokens: dict[str, list[str]] = field(default_factory=dict)  # place -> analysed tokens


@dataclass
class Check:
    name: str
    passed: int = 0
    failures: list[str] = field(default_factory=list)

    def record(self, ok: bool, failure: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failures.append(failure)

    @property
    def total(self) -> int:
        return self.passed + len(self.failures)


def sources_of(get: Get) -> dict[str, Source]:
    """Every source, read back through the API."""
    ids: list[str] = []
    for kind in SOURCE_TYPES:
        page = 1
        while True:
            status, data = get("/api/search", {"type": kind, "top_k": PAGE_SIZE, "page": page})
            if status != 200:
                break
            ids += [r["document_id"] for r in data["results"]]
            if page >= data["pages"]:
                break
            page += 1
    text_analyzer = analyzer()
    out = {}
    for source_id in dict.fromkeys(ids):
        _, doc = get(f"/api/documents/{source_id}", {})
        source = Source(source_id, doc.get("title") or "", doc.get("publisher") or "", list(doc.get("authors") or []),
                        doc.get("text") or "")
        source.tokens = {"title": text_analyzer.analyze(source.title), "text": text_analyzer.analyze(source.text),
                         "publisher": text_analyzer.analyze(source.publisher),
                         "author": text_analyzer.analyze(" ; ".join(source.authors))}
        out[source_id] = source
    return out


_ANALYZER = analyzer()


def held(source: Source, word: str, places: Iterable[str] = ("title", "text", "publisher", "author")) -> bool:
    wanted = _ANALYZER.analyze(word)
    return bool(wanted) and any(holds(source.tokens[p], wanted) for p in places)


def audit_words(sources: dict[str, Source], count: int) -> list[str]:
    """Words at evenly spaced document frequencies (those of at least two letters, not function words)."""
    frequency: Counter[str] = Counter()
    surface: dict[str, str] = {}
    text_analyzer = analyzer()
    for source in sources.values():
        seen = set()
        for word in source.text.split():
            word = "".join(ch for ch in word if ch.isalpha()).lower()
            if len(word) < 3 or word in FUNCTION_WORDS:
                continue
            stems = text_analyzer.analyze(word)
            if len(stems) != 1 or stems[0] in seen:
                continue
            seen.add(stems[0])
            surface.setdefault(stems[0], word)
        frequency.update(seen)
    ranked = sorted(frequency, key=lambda s: (-frequency[s], s))
    if not ranked:
        return []
    step = max(1, len(ranked[: len(ranked) // 2]) // max(1, count))  # the upper half: words several sources hold
    return [surface[s] for s in ranked[: len(ranked) // 2 : step]][:count]


def all_results(get: Get, params: dict[str, Any], page_size: int = PAGE_SIZE
                ) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    """Every result of a search, over all its pages: ``(total, results, first page's JSON)``."""
    results: list[dict[str, Any]] = []
    first: dict[str, Any] = {}
    page = 1
    while True:
        status, data = get("/api/search", {**params, "top_k": page_size, "page": page})
        if status != 200:
            raise RuntimeError(f"{params}: HTTP {status} {data}")
        first = first or data
        results += data["results"]
        if page >= data["pages"]:
            return data["total"], results, first
        page += 1


def audit(get: Get, words: int = 30, queries: Iterable[str] = QUERIES, values: int | None = None,
          page_size: int = PAGE_SIZE) -> dict[str, Check]:
    """The three checks (see the module's docstring); ``values``: at most this many values of each facet ticked
    per query (its most and least frequent halves), None for all; ``page_size``: results per page read (every
    page is read: each source must be on exactly one)."""
    sources = sources_of(get)
    sets, facets, statements, labels = Check("sets"), Check("facet counts"), Check("why statements"), Check("labels")
    chosen = audit_words(sources, words)
    for query in [*chosen, *queries]:
        total, results, first = all_results(get, {"q": query}, page_size)
        found = {r["document_id"] for r in results}
        sets_check = query in chosen
        if sets_check:
            holders = {s.id for s in sources.values() if held(s, query)}
            missed = holders - found
            sets.record(not missed and total == len(found) == len(results),
                        f"{query!r}: {len(missed)} of {len(holders)} sources holding it not found (total {total}, "
                        f"listed {len(found)} sources in {len(results)} results)")
        for facet, shown in first.get("facets", {}).items():
            listed = list(shown.items())
            if values is not None and len(listed) > values:
                listed = listed[: values - values // 2] + listed[len(listed) - values // 2 :]
            for value, count in listed:
                status, ticked = get("/api/search", {"q": query, facet: value, "top_k": 1})
                facets.record(status == 200 and ticked["total"] == count,
                              f"{query!r} {facet}={value}: shown {count}, ticked {ticked.get('total', status)}")
        for result in results[:PAGE_SIZE]:
            source = sources.get(result["document_id"])
            why = result.get("why")
            if source is None or not why:
                continue
            typed_held = []
            for word in why["words"]:
                via = word.get("via") or word["word"]
                places = word["where"]
                if places:
                    ok = all(held(source, via, [p]) for p in places)
                    statements.record(ok, f"{query!r} {source.title[:50]!r}: “{word['word']}” said in {places}"
                                      f"{' as ' + via if word.get('via') else ''}, not there")
                    if word.get("form"):  # "is in its text as “adolescent”": written so, letter for letter
                        written = " ".join((source.title if places[0] == "title" else source.text).split())
                        statements.record(word["form"].lower() in written.lower(),
                                          f"{query!r} {source.title[:50]!r}: “{word['word']}” said in its "
                                          f"{places[0]} as “{word['form']}”, not written so there")
                else:
                    ok = not held(source, word["word"])
                    statements.record(ok, f"{query!r} {source.title[:50]!r}: “{word['word']}” said not in it, "
                                      "but it is")
                typed_held.append(bool(places))
            label = result.get("match")
            if not typed_held:
                continue
            expected = "all" if all(typed_held) else "some" if any(typed_held) else "meaning"
            labels.record(label == expected, f"{query!r} {source.title[:50]!r}: labelled {label}, holds → {expected}")
    return {c.name: c for c in (sets, facets, statements, labels)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--words", type=int, default=30)
    parser.add_argument("--values", type=int, default=8, help="values of each facet ticked per query")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args(argv)
    checks = audit(http_get(args.url), args.words, values=args.values)
    failed = False
    for check in checks.values():
        print(f"{check.name}: {check.passed} of {check.total} true")
        for failure in check.failures[:10]:
            print("   ", failure)
        failed |= bool(check.failures)
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as handle:
            json.dump({c.name: {"passed": c.passed, "total": c.total, "failures": c.failures}
                       for c in checks.values()}, handle, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
