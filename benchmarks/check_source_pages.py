"""Check it at the source, measured (issue 25, item 5): for the first passage of the top three results of a
few searches, ask the app for its source page and its image; count pages shown, sentences boxed, refusals
and the time each page takes.

    .venv/bin/kb ingest corpus --data-dir bench-data/default       # once
    PYTHONPATH=. .venv/bin/python benchmarks/check_source_pages.py --data-dir bench-data/default
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = ("edge of care adolescents", "care leavers housing", "family group conferences", "advocacy complaint",
           "national framework principles", "pathfinder family help")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()

    from index import offline  # noqa: F401
    from index.settings import load_settings
    from webapp import create_app

    client = create_app({"KB_SETTINGS": load_settings(env={}, overrides={"data_dir": args.data_dir})}).test_client()
    asked = shown = boxed = 0
    times = []
    for q in QUERIES:
        for result in client.get("/api/search", query_string={"q": q}).get_json()["results"][:3]:
            ordinal = result["passages"][0]["ordinal"] if result.get("passages") else 0
            started = time.perf_counter()
            html = client.get(f"/documents/{result['source_id']}/source",
                              query_string={"passage": ordinal, "q": q}).get_data(as_text=True)
            took = time.perf_counter() - started
            boxes = html.count('class="app-source-box"')
            image = re.search(r'<image href="([^"]+)"', html)
            status = client.get(image.group(1)).status_code if image else None
            refusal = re.search(r'id="source-refusal">([^<]{0,70})', html)
            asked += 1
            if image:
                shown += 1
                boxed += boxes > 0
                times.append(took)
            print(f"{result['title'][:50]:50} | boxes {boxes:3} | image {status} | {took:.2f} s"
                  + (f" | {refusal.group(1)}" if refusal else ""))
    print(f"\n{asked} pages asked for, {shown} shown ({boxed} with the sentence boxed), {asked - shown} refused; "
          f"page time {min(times or [0]):.2f}-{max(times or [0]):.2f} s (the first includes the sandbox's start)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
