"""What a fetched item is, checked against what it says it is: an HTML error page served for a PDF is refused.

The mirror keeps only what the ingest reads (HTML, PDF, Word, plain text, Markdown), under the
extension its bytes prove, never the one the address or the Content-Type header claims alone.

Usage::

    extension = document_extension("https://example.org/report.pdf", "application/pdf", body)   # ".pdf"
"""

from __future__ import annotations

from urllib.parse import urlsplit

HTML_TYPES = ("text/html", "application/xhtml+xml")
PDF_TYPES = ("application/pdf", "application/x-pdf")
DOCX_TYPES = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",)
TEXT_TYPES = ("text/plain",)
MARKDOWN_TYPES = ("text/markdown", "text/x-markdown")
# Servers label files they do not know this way; the bytes decide then.
UNLABELLED = ("", "application/octet-stream", "binary/octet-stream", "application/download",
              "application/force-download")


class NotADocument(Exception):
    """The response is not a document the ingest reads (or not what it claims to be); the message says why."""


def looks_like_html(body: bytes) -> bool:
    start = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
        start.startswith(b"<") and b"<body" in body[:4096].lower())


def document_extension(url: str, content_type: str, body: bytes) -> str:
    """The extension to save a fetched item under.

    :raises NotADocument: for an empty body, a type the ingest does not read, or bytes that are not what
        the header or the address says (an HTML page where a PDF was linked is an error page, not the report).
    """
    if not body.strip():
        raise NotADocument("is empty")
    path = urlsplit(url).path.lower()
    is_pdf = body.lstrip()[:5] == b"%PDF-"
    is_zip = body[:4] == b"PK\x03\x04"
    html = looks_like_html(body)
    if content_type in PDF_TYPES or path.endswith(".pdf"):
        if is_pdf:
            return ".pdf"
        what = "an HTML page" if html else "not a PDF"
        raise NotADocument(f"should be a PDF ({content_type or 'no content type'}) but is {what}; "
                           "an error or sign-in page, not the document")
    if content_type in DOCX_TYPES or path.endswith(".docx"):
        if is_zip:
            return ".docx"
        raise NotADocument(f"should be a Word document ({content_type or 'no content type'}) but is "
                           f"{'an HTML page' if html else 'something else'}; an error page, not the document")
    if content_type in HTML_TYPES:
        if is_pdf or is_zip or b"\x00" in body[:4096]:
            raise NotADocument(f"says it is HTML ({content_type}) but is binary data")
        return ".html"
    if content_type in TEXT_TYPES + MARKDOWN_TYPES:
        if b"\x00" in body[:4096]:
            raise NotADocument(f"says it is text ({content_type}) but is binary data")
        if html:
            return ".html"
        return ".md" if content_type in MARKDOWN_TYPES or path.endswith((".md", ".markdown")) else ".txt"
    if content_type in UNLABELLED:
        if is_pdf:
            return ".pdf"
        if html:
            return ".html"
    raise NotADocument(f"is {content_type or 'unlabelled data'}, not a document the ingest reads "
                       "(HTML, PDF, Word .docx, text)")
