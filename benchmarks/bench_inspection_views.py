"""The leaders' inspection views at the size of the real evidence base: who uses a model (project page)
and a council's inspections and statistical neighbours (council page), page and JSON.

    .venv/bin/python benchmarks/bench_inspection_views.py --data-dir /work/bench-data/corpora-v2 [--rounds 5]

Works on a copy of the data directory's current generation (read-only for the original); when that
generation was built before councils.json carried statistical neighbours, the copy's councils.json is
rewritten from its sources by ``ingest.tagging.council_details``, as a build writes it today. Prints the
median time of each request over --rounds, and what No Wrong Door's
and Signs of Safety's pages find.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

URLS = ["/api/projects/north-yorkshire-no-wrong-door", "/projects/north-yorkshire-no-wrong-door",
        "/api/projects/signs-of-safety", "/projects/signs-of-safety",
        "/api/councils/north-yorkshire", "/councils/north-yorkshire", "/councils/dorset"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from index.settings import load_settings
    from ingest.councils import council_details
    from webapp import create_app
    from webapp.index_handle import get_index

    current = (args.data_dir / "CURRENT").read_text().strip()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        shutil.copytree(args.data_dir / "generations" / current, data / "generations" / current)
        (data / "CURRENT").write_text(current)
        generation = data / "generations" / current
        settings = load_settings(env={}, overrides={"data_dir": data, "canaries": ""})
        app = create_app({"TESTING": True, "KB_SETTINGS": settings})
        with app.app_context():
            store = get_index().served().browse.store
            records = store.get_sources([row.id for row in store.facet_rows()]).values()
            catalogue = json.loads((generation / "projects.json").read_text())["projects"]
            leads = [c for p in catalogue for c in p["councils"]]
            (generation / "councils.json").write_text(json.dumps(council_details(records, leads)), encoding="utf-8")
        client = create_app({"TESTING": True, "KB_SETTINGS": settings}).test_client()
        for url in URLS:
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, (url, response.status_code)
            print(f"{url}: median {statistics.median(times) * 1000:.0f} ms ({len(response.data):,} bytes)")
        for slug in ("north-yorkshire-no-wrong-door", "signs-of-safety"):
            found = client.get(f"/api/projects/{slug}").get_json()
            print(f"{slug}: used by {len(found['councils_using'])} councils "
                  f"({', '.join(c['name'] for c in found['councils_using'])}); "
                  f"only mentioned by {len(found['councils_mentioning'])}")


if __name__ == "__main__":
    main()
