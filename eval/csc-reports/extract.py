"""Extract the plain text of every file of ../shared/corpora, one .txt per file stem, for judging.

Run from the repository root::

    python eval/csc-reports/extract.py ../shared/corpora /tmp/csc-texts

Then grep the texts for a query's words (``grep -lic "mockingbird" /tmp/csc-texts/*.txt``) and read
the passages to grade. PDFs are read with pypdfium2 (pages joined with a form feed), Word files with
python-docx, Markdown and text as they are. The output is for reading only; it is not a corpus.
"""

from __future__ import annotations

import sys
from pathlib import Path


def text_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        import pypdfium2

        pdf = pypdfium2.PdfDocument(str(path))
        try:
            return "\f".join(page.get_textpage().get_text_range() for page in pdf)
        finally:
            pdf.close()
    if suffix == ".docx":
        import docx

        return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    if suffix in (".md", ".txt"):
        return path.read_text(encoding="utf-8", errors="replace")
    return ""


def main(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name == "README.md":
            continue
        try:
            text = text_of(path)
        except Exception as exc:  # a file we cannot read is reported, not fatal
            print(f"{path}: {exc}", file=sys.stderr)
            continue
        if text.strip():
            (target / f"{path.stem}.txt").write_text(text, encoding="utf-8")
            count += 1
    print(f"{count} texts written to {target}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: extract.py CORPORA_DIR OUTPUT_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
