"""Word documents (.docx): paragraphs, headings and tables in order; core properties as metadata."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

from haystack import Document, component

from ingest.converters.base import FileConverter
from ingest.failures import ConversionError
from ingest.formats import Format, register
from ingest.sandbox import preload, run_limited

# Imported once in the sandbox's fork server, not by every child.
preload(__name__, "lxml.etree")

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200


def check_zip(data: bytes) -> None:
    """Refuse archives that expand far beyond their size (zip bombs) before any parser opens them."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ConversionError("the file is not a valid .docx (zip) archive", "re-save it from Word") from None
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_UNCOMPRESSED or (total > MAX_RATIO * max(len(data), 1) and total > 10 * 1024 * 1024):
        raise ConversionError(f"the archive expands to {total // (1024 * 1024)} MiB from {len(data) // 1024} KiB "
                              "(a zip bomb?)", "check where the file came from; re-save it from Word")


_RELS_OFFICE = ("/officeDocument",)
_SKIP_INSIDE = {"del", "moveFrom", "Fallback", "txbxContent", "instrText", "delText"}
_CONTAINERS = {"body", "sdt", "sdtContent", "customXml", "smartTag", "ins", "moveTo", "hyperlink", "fldSimple",
               "AlternateContent", "Choice", "txbxContent", "footnote", "endnote", "hdr", "ftr", "comment"}
# Headers and footers repeat on every page; one is kept only when it says something (not "Page 3").
MIN_HEADER_WORDS = 8


# Word writes a broken field's error as its text ("Error! Reference source not found."): not the author's words.
_FIELD_ERROR = re.compile(r"Error! [^.]{0,80}(?:not found|not defined|in document|specified)\.?")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _xml(archive: zipfile.ZipFile, name: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    return etree.fromstring(archive.read(name), parser)


def _rels(archive: zipfile.ZipFile, part: str) -> list[tuple[str, str]]:
    """(type, target part) of a part's relationships; namespaces and prefixes of any kind (Strict, ``ns0:``)."""
    folder, _, base = part.rpartition("/")
    rels_name = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
    if rels_name not in archive.namelist():
        return []
    found = []
    for rel in _xml(archive, rels_name).iter():
        if _local(rel.tag) == "Relationship" and rel.get("TargetMode") != "External":
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else "/".join(
                p for p in (folder, target) if p)
            parts: list[str] = []
            for piece in path.split("/"):
                if piece == "..":
                    if parts:
                        parts.pop()
                elif piece not in ("", "."):
                    parts.append(piece)
            found.append((rel.get("Type", ""), "/".join(parts)))
    return found


def _paragraph_text(p: Any) -> tuple[str, list[Any]]:
    """A paragraph's own text (tracked deletions left out) and the text boxes anchored in it."""
    out: list[str] = []
    boxes: list[Any] = []
    stack = [(child, False) for child in reversed(list(p))]
    while stack:
        node, _ = stack.pop()
        name = _local(node.tag)
        if name == "txbxContent":
            boxes.append(node)
            continue
        if name in _SKIP_INSIDE:
            continue
        if name == "t":
            out.append(node.text or "")
        elif name == "tab":
            out.append("\t")
        elif name in ("br", "cr") or name == "p":
            out.append("\n")
        stack.extend((child, False) for child in reversed(list(node)))
    return _FIELD_ERROR.sub("", " ".join("".join(out).split(" "))).strip(" ,"), boxes


def _is_heading(p: Any) -> bool:
    for node in p.iter():
        name = _local(node.tag)
        if name in ("pStyle", "outlineLvl"):
            value = next(iter(node.attrib.values()), "") or ""
            return name == "outlineLvl" or value.lower().replace(" ", "").startswith(("heading", "title"))
        if name == "r":
            return False
    return False


def _walk(element: Any, lines: list[str]) -> None:
    for child in element:
        name = _local(child.tag)
        if name == "p":
            text, boxes = _paragraph_text(child)
            if text:
                lines.extend(["", text, ""] if _is_heading(child) else [text])
            for box in boxes:
                _walk(box, lines)
        elif name == "tbl":
            for row in (r for r in child.iter() if _local(r.tag) == "tr"):
                cells = []
                for cell in (c for c in row if _local(c.tag) in ("tc", "sdt", "customXml")):
                    parts: list[str] = []
                    _walk(cell, parts)
                    text = " ".join(t for t in parts if t)
                    if text and text not in cells:
                        cells.append(text)
                if cells:
                    lines.append("; ".join(cells))
            lines.append("")
        elif name in _CONTAINERS or name == "r":
            _walk(child, lines)


def _core(archive: zipfile.ZipFile) -> dict[str, Any]:
    embedded: dict[str, Any] = {"title": None, "authors": [], "date": None}
    for rel_type, target in _rels(archive, ""):
        if rel_type.endswith("/core-properties") and target in archive.namelist():
            for node in _xml(archive, target):
                name, value = _local(node.tag), (node.text or "").strip()
                if name == "title" and value:
                    embedded["title"] = value
                elif name == "creator" and value:
                    embedded["authors"] = [a.strip() for a in value.split(";") if a.strip()]
                elif name == "created" and value[:4].isdigit():
                    embedded["date"] = value[:10]
    return embedded


def _extract(data: bytes) -> tuple[str, dict[str, Any]]:
    """Body text in order (paragraphs, headings, tables, content controls, text boxes and shapes),
    then footnotes and endnotes, then headers and footers that are not page chrome."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    main = next((target for rel_type, target in _rels(archive, "") if rel_type.endswith(_RELS_OFFICE)
                 and target in archive.namelist()), None)
    if main is None:
        main = "word/document.xml" if "word/document.xml" in archive.namelist() else None
    if main is None:
        raise ConversionError("the file is a zip archive but not a Word document (no main document part)",
                              "re-save it from Word as .docx")
    lines: list[str] = []
    root = _xml(archive, main)
    body = next((n for n in root.iter() if _local(n.tag) == "body"), root)
    _walk(body, lines)
    body_text = "\n".join(lines)
    extra: list[str] = []
    chrome: list[str] = []
    for rel_type, target in _rels(archive, main):
        kind = rel_type.rsplit("/", 1)[-1]
        if target not in archive.namelist() or kind not in ("footnotes", "endnotes", "header", "footer"):
            continue
        part = _xml(archive, target)
        if kind in ("footnotes", "endnotes"):
            for note in (n for n in part if _local(n.tag) in ("footnote", "endnote")):
                if any(_local(k).lower() == "type" for k in note.attrib):  # separators
                    continue
                note_lines: list[str] = []
                _walk(note, note_lines)
                text = " ".join(t for t in note_lines if t)
                if text:
                    extra.append(text)
        else:
            header_lines: list[str] = []
            _walk(part, header_lines)
            text = " ".join(t for t in header_lines if t)
            if len(text.split()) >= MIN_HEADER_WORDS and text not in body_text and text not in chrome:
                chrome.append(text)
    text = body_text
    if extra:
        text += "\n\nNotes\n\n" + "\n".join(extra)
    if chrome:
        text += "\n\n" + "\n".join(chrome)
    return text, {"embedded": _core(archive)}


@component
class DocxConverter(FileConverter):
    """Word .docx (a Haystack component), read in a limited child process after a zip-bomb check."""

    format_name = "docx"
    sandboxed = True

    def convert(self, path: Path, data: bytes) -> list[Document]:
        check_zip(data)
        text, meta = run_limited(_extract, data)
        if not text.strip():
            raise ConversionError("the document has no text (only images, empty tables or nothing)",
                                  "if its pages are pictures of text, run OCR on them; else check it is the right file")
        meta["embedded"]["type"] = "report"
        return [Document(content=text, meta=meta)]


def _is_docx(head: bytes) -> bool:
    return head[:4] == b"PK\x03\x04" and b"word/" in head


register(Format("docx", (".docx",), sniff=_is_docx, converter=DocxConverter, priority=10))
