"""The ingest's read stage alone on a corpus: seconds, and what it read, for comparing two runs.

Times ``ingest.build.read_files`` (convert in the sandbox, text metadata, templates, layout: everything
before boilerplate learning and the model) over the files ``kb ingest`` would discover, then
checks each inspection's fields as the ingest read them (``meta["inspection"]``) against Ofsted's
overview spreadsheet, as ``benchmarks/check_inspections.py`` does. With ``--json`` it writes, per
document, its text and meta, so that ``--compare`` can set two runs side by side: documents in
the same order, identical texts, word precision and recall of one text against the other, and
inspection fields that differ.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_ingest.py [--corpus ../shared/corpora/ofsted-ilacs]
        [--workers 2] [--json run.json] [--compare before.json]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import offline  # noqa: E402,F401
from index.records import Inspection  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "ofsted-ilacs"
_WORD = re.compile(r"\w+")


def cpu_seconds() -> float:
    """CPU seconds of this process, its reaped children and the sandbox's fork server with its reaped children."""
    import multiprocessing.forkserver
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    server = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    if server:
        fields = Path(f"/proc/{server}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    return total


def read_stage(files: list[Path], workers: int | None) -> tuple[list[Any], list[Any], float, float]:
    """Documents and failures of the read stage, its seconds and its CPU seconds."""
    from ingest.build import read_files

    kwargs: dict[str, Any] = {}
    if workers is not None and "workers" in inspect.signature(read_files).parameters:
        kwargs["workers"] = workers
    cpu = cpu_seconds()
    started = time.perf_counter()
    documents, failures = read_files(files, False, None, **kwargs)
    return documents, failures, time.perf_counter() - started, cpu_seconds() - cpu


def start_overhead(calls: int, data: bytes) -> dict[str, float]:
    """Milliseconds per sandbox call of a trivial function on ``data``: from the fork server (what the
    converters use) and, for comparison, forked from this process (which holds haystack and torch)."""
    import multiprocessing

    from ingest import sandbox

    started = time.perf_counter()
    sandbox.run_limited(len, data)
    out = {"server_start_ms": (time.perf_counter() - started) * 1000}
    started = time.perf_counter()
    for _ in range(calls):
        sandbox.run_limited(len, data)
    out["forkserver_ms"] = (time.perf_counter() - started) * 1000 / calls
    fork = multiprocessing.get_context("fork")
    started = time.perf_counter()
    for _ in range(calls):
        receiver, sender = fork.Pipe(duplex=False)
        process = fork.Process(target=sandbox._child, args=(sender, len, (data,), sandbox.DEFAULT_MEMORY_MB,
                                                            sandbox._Logging.of_caller()), daemon=True)
        process.start()
        sender.close()
        receiver.recv()
        process.join()
        receiver.close()
    out["fork_ms"] = (time.perf_counter() - started) * 1000 / calls
    return out


def inspection_agreement(documents: list[Any], corpus: Path) -> tuple[int, int, Counter[str]]:
    """Reports checked against their spreadsheet row, how many agree on every value, and mismatches by field."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from check_inspections import compared, iso_date

    from scripts.import_ofsted_overview import read_overview

    by_stem = {Path(d.meta["source"]).stem: d for d in documents if Path(d.meta["source"]).suffix == ".pdf"}
    checked = agreed = 0
    wrong: Counter[str] = Counter()
    for row in read_overview(corpus / "ofsted_csc_ilacs_overview.xlsx"):
        published = iso_date(row["publication_date"], 2)
        stem = f"{row['local_authority'].replace(' ', '-')}_{published}"
        if published is None or stem not in by_stem:
            continue
        checked += 1
        found = by_stem[stem].meta.get("inspection")
        if not found:
            wrong["not recognised"] += 1
            continue
        inspection = Inspection.from_dict(found)
        expected, got = compared(row, inspection, published)
        mismatches = [k for k, v in expected.items() if v is not None and got.get(k) != v]
        wrong.update(mismatches)
        agreed += not mismatches
    return checked, agreed, wrong


def _words(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(text))


def compare(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    """Two runs' documents side by side."""
    lines = []
    same_order = [d["source"] for d in before] == [d["source"] for d in after]
    lines.append(f"documents: {len(before)} before, {len(after)} after; same sources in the same order: {same_order}")
    old = {d["source"]: d for d in before}
    identical = 0
    precision: list[float] = []
    recall: list[float] = []
    worst: list[tuple[float, str]] = []
    fields: Counter[str] = Counter()
    for doc in after:
        previous = old.get(doc["source"])
        if previous is None:
            continue
        identical += previous["content"] == doc["content"]
        a, b = _words(doc["content"]), _words(previous["content"])
        overlap = sum((a & b).values())
        p, r = overlap / max(1, sum(a.values())), overlap / max(1, sum(b.values()))
        precision.append(p)
        recall.append(r)
        worst.append((min(p, r), Path(doc["source"]).name))
        for key in ("embedded", "template", "inspection", "licence"):
            if previous["meta"].get(key) != doc["meta"].get(key):
                fields[key] += 1
    lines.append(f"identical texts: {identical} of {len(precision)}")
    if precision:
        mean_p, mean_r = sum(precision) / len(precision), sum(recall) / len(recall)
        lines.append(f"word precision / recall of the new text against the old: mean {mean_p:.4f} / {mean_r:.4f}; "
                     f"lowest {min(precision):.4f} / {min(recall):.4f}")
        lines.append("least alike: " + ", ".join(f"{name} {score:.3f}" for score, name in sorted(worst)[:5]))
    lines.append("meta fields that differ: " + (", ".join(f"{k} {n}" for k, n in sorted(fields.items())) or "none"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--workers", type=int, help="read-stage workers (the build's default when left out)")
    parser.add_argument("--limit", type=int, help="only the first N files")
    parser.add_argument("--json", type=Path, help="write each document's text and meta here")
    parser.add_argument("--compare", type=Path, help="a --json file of an earlier run to compare with")
    parser.add_argument("--start-overhead", type=int, metavar="CALLS",
                        help="only measure the sandbox's cost per call (fork server against fork), over CALLS calls")
    args = parser.parse_args(argv)
    from ingest.discover import discover

    files = discover([args.corpus])[: args.limit]
    if args.start_overhead:
        import ingest.converters  # noqa: F401  (registers the parsers the fork server preloads)

        data = max((p for p in files if p.suffix == ".pdf"), key=lambda p: p.stat().st_size).read_bytes()
        costs = start_overhead(args.start_overhead, data)
        print(f"sandbox cost per call with {len(data) // 1024} KiB of data: " +
              ", ".join(f"{k} {v:.1f}" for k, v in costs.items()))
        return 0
    documents, failures, seconds, cpu = read_stage(files, args.workers)
    extractors = Counter(str(d.meta.get("extractor")) for d in documents if d.meta.get("extractor"))
    print(f"read stage: {len(files)} files -> {len(documents)} documents, {len(failures)} failures "
          f"in {seconds:.1f} s ({seconds / max(1, len(files)) * 1000:.0f} ms a file), {cpu:.1f} CPU s")
    print("extractors: " + ", ".join(f"{k} {n}" for k, n in extractors.most_common()))
    for failure in failures:
        print(f"  failed {Path(failure.path).name}: {failure.reason}")
    if (args.corpus / "ofsted_csc_ilacs_overview.xlsx").exists():
        checked, agreed, wrong = inspection_agreement(documents, args.corpus)
        print(f"inspections checked against the spreadsheet: {checked}; every value agrees: {agreed} "
              f"({agreed / max(1, checked):.1%}); mismatches: {dict(wrong)}")
    rows = [{"source": d.meta["source"], "content": d.content or "",
             "meta": json.loads(json.dumps(d.meta, default=str))} for d in documents]
    if args.json:
        args.json.write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "documents": rows,
                                         "failures": [f.to_dict() for f in failures]}), encoding="utf-8")
    if args.compare:
        print(compare(json.loads(args.compare.read_text(encoding="utf-8"))["documents"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
