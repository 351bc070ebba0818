"""What a search's results say about their sources, read back against the sources themselves (issue 25):
through the HTTP API only, each shown passage must be the source's text at the offsets it gives, each author
shown must be named in that text, and each PDF passage's cited page (or page range) must hold the passage's
words in the original PDF (read with PDFium, apart from our cleaning: compared as 4-word runs of letters).

    .venv/bin/python benchmarks/check_cited_pages.py --data-dir DATA --corpus FOLDER "query one" "query two" ...

``FOLDER`` is where the ingested files are (a result's ``source`` names its file). Prints each failure and a
summary; exits 1 when any check failed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import offline  # noqa: F401


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def runs(text: str, size: int = 4) -> set[str]:
    found = words(text)
    return {" ".join(found[i:i + size]) for i in range(max(0, len(found) - size + 1))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("queries", nargs="+")
    args = parser.parse_args()

    import pypdfium2

    from index.settings import load_settings
    from webapp import create_app

    settings = load_settings(env={}, overrides={"data_dir": args.data_dir, "canaries": ""})
    client = create_app({"TESTING": True, "KB_SETTINGS": settings}).test_client()
    failed: list[str] = []
    counts = {"results": 0, "passages": 0, "authors": 0, "pages": 0}
    pages_cache: dict[str, list[set[str]]] = {}
    for query in args.queries:
        results = client.get("/api/search", query_string={"q": query, "top_k": args.top_k}).get_json()["results"]
        for result in results:
            counts["results"] += 1
            doc = client.get(f"/api/documents/{result['document_id']}").get_json()
            text = doc["text"]
            folded = " ".join(words(text))
            for author in result["authors"]:
                counts["authors"] += 1
                if " ".join(words(author)) not in folded:
                    failed.append(f"{query!r}: {result['title'][:50]}: author {author!r} is not named in the text")
            path = Path(args.corpus) / Path(result["source"].split("#")[0]).name
            for passage in result["passages"]:
                counts["passages"] += 1
                if text[passage["start"]:passage["end"]] != passage["text"]:
                    failed.append(f"{query!r}: {result['title'][:50]}: passage {passage['ordinal']} is not the "
                                  "source's text at its offsets")
                if passage.get("page") is None or path.suffix.lower() != ".pdf" or not path.exists():
                    continue
                counts["pages"] += 1
                if str(path) not in pages_cache:
                    pdf = pypdfium2.PdfDocument(str(path))
                    pages_cache[str(path)] = [runs(pdf[i].get_textpage().get_text_range()) for i in range(len(pdf))]
                pages = pages_cache[str(path)]
                first, last = passage["page"], passage.get("page_end") or passage["page"]
                cited = set().union(*pages[first - 1:last]) if 0 < first <= len(pages) else set()
                mine = runs(passage["text"])
                if mine and not (mine & cited):
                    failed.append(f"{query!r}: {result['title'][:50]}: passage {passage['ordinal']} cites page "
                                  f"{first}{'-' + str(last) if last != first else ''}, which holds none of its words")
    for line in failed:
        print("FAILED", line)
    print(f"{len(args.queries)} queries, {counts['results']} results, {counts['passages']} passages "
          f"({counts['pages']} cited PDF pages checked), {counts['authors']} authors shown; {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
