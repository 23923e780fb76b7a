"""Turn an uploaded report (PDF, HTML, Markdown, plain text) into text.

Work is bounded: inputs larger than ``max_bytes`` are refused, PDFs are read page by page
up to ``max_pages`` pages and ``max_seconds`` seconds (the text read so far is returned
when the budget runs out), and the returned text is capped at ``max_chars`` characters.
:func:`read_report` also says which of these limits cut the text, so that a reviewer is
told.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import time
from dataclasses import dataclass

from .model import ReportError

__all__ = ["ReportText", "decode_text", "read_report"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_PAGES = 1000
DEFAULT_MAX_SECONDS = 60.0
DEFAULT_MAX_CHARS = 20_000_000


@dataclass(frozen=True, slots=True)
class ReportText:
    """The text of a report and the limits that cut it."""

    text: str
    pdf_pages_read: int | None = None  # set when the PDF page or time budget ended reading
    chars_total: int | None = None  # set when the text was longer than ``max_chars``


_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "ZIP/Office document"),
    (b"\xd0\xcf\x11\xe0", "legacy Office document"),
    (b"MZ", "Windows executable"),
    (b"\x7fELF", "ELF executable"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"Rar!", "RAR archive"),
    (b"7z\xbc\xaf", "7-Zip archive"),
    (b"\x1f\x8b", "gzip archive"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_BLOCK_TAGS = (
    "p,div,br,li,tr,h1,h2,h3,h4,h5,h6,table,pre,section,article,ul,ol,blockquote,dt,dd,"
    "header,footer,nav,aside,figure,figcaption,caption,hr,main,form,address"
)
_CELL_TAGS = "td,th"
_HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_DROP_TAGS = ["script", "style", "noscript", "template", "svg", "head", "iframe", "object"]


def _kind(data: bytes, filename: str | None, content_type: str | None) -> str:
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    name = (filename or "").lower()
    if data[:1024].lstrip()[:5] == b"%PDF-" or ctype == "application/pdf" or name.endswith(".pdf"):
        return "pdf"
    if ctype in ("text/html", "application/xhtml+xml") or name.endswith(_HTML_SUFFIXES):
        return "html"
    if ctype == "text/markdown" or name.endswith((".md", ".markdown", ".adoc", ".rst")):
        return "markdown"
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise ReportError(
                f"Unsupported file type ({what}); upload a PDF, HTML, Markdown or text file."
            )
    head = data[:4096]
    if _HTML_START.match(head) or _HTML_START.match(_strip_bom(head)):
        return "html"
    return "text"


def _strip_bom(data: bytes) -> bytes:
    for bom, _ in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :]
    return data


def decode_text(data: bytes) -> str:
    """Decode bytes of a text document: BOM, UTF-16 sniffing, UTF-8, then cp1252/latin-1."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise ReportError(f"The text is not valid {encoding.upper()}.") from exc
    sample = data[:4096]
    if len(sample) >= 4:
        even_nul = sample[0::2].count(0)
        odd_nul = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nul > half * 0.4 and even_nul < half * 0.05:
            return _decode_utf16(data, "utf-16-le")
        if even_nul > half * 0.4 and odd_nul < half * 0.05:
            return _decode_utf16(data, "utf-16-be")
    if b"\x00" in sample:
        raise ReportError("The file looks binary, not a text report.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decode_utf16(data: bytes, encoding: str) -> str:
    if len(data) % 2:
        data = data[:-1]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ReportError(f"The text looks like {encoding.upper()} but is not valid.") from exc


def _html_to_text(data: bytes) -> str:
    from selectolax.lexbor import LexborHTMLParser

    try:
        tree = LexborHTMLParser(decode_text(data))
    except ReportError:
        raise
    except Exception as exc:  # selectolax raises plain errors on broken input
        raise ReportError("The HTML document cannot be parsed.") from exc
    tree.strip_tags(_DROP_TAGS)
    for node in tree.css(_CELL_TAGS):
        node.insert_after("\t")
    for node in tree.css(_BLOCK_TAGS):
        node.insert_after("\n")
    root = tree.body or tree.root
    if root is None:
        return ""
    text = root.text(separator="")
    return re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", text).strip()


def _pdf_to_text(data: bytes, max_pages: int, max_seconds: float) -> tuple[str, int | None]:
    """The text of the pages read, and their number when a budget or damage (not the end of
    the file) stopped reading."""
    from pdfminer.converter import TextConverter
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    deadline = time.monotonic() + max_seconds
    out = io.StringIO()
    manager = PDFResourceManager(caching=True)
    device = TextConverter(manager, out, laparams=LAParams())
    interpreter = PDFPageInterpreter(manager, device)
    pages = 0
    cut = False
    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        if not document.is_extractable:
            raise ReportError("The PDF does not allow text extraction.")
        for page in PDFPage.create_pages(document):
            if pages >= max_pages or time.monotonic() > deadline:
                log.warning("PDF truncated after %d pages (page or time budget reached)", pages)
                cut = True
                break
            interpreter.process_page(page)
            pages += 1
    except ReportError:
        raise
    except (PDFEncryptionError, PDFPasswordIncorrect) as exc:
        raise ReportError("The PDF is encrypted; upload a decrypted copy.") from exc
    except Exception as exc:  # pdfminer raises many unrelated types on corrupt input
        if pages == 0:
            raise ReportError("The PDF file is corrupt or unreadable.") from exc
        log.warning("PDF damaged after page %d: %s", pages, exc)
        cut = True
    finally:
        device.close()
    if pages == 0:
        raise ReportError("The PDF file has no readable pages.")
    return out.getvalue().replace("\x0c", "\n"), pages if cut else None


def read_report(
    data: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> ReportText:
    """Extract the text of a report, saying which limit (if any) cut it.

    Raises :class:`ReportError` for empty, too large, corrupt or unsupported inputs.
    """
    if len(data) > max_bytes:
        raise ReportError(
            f"The file is too large ({len(data)} bytes); the limit is {max_bytes} bytes."
        )
    if not data.strip():
        raise ReportError("The file is empty.")
    kind = _kind(data, filename, content_type)
    pages: int | None = None
    if kind == "pdf":
        text, pages = _pdf_to_text(data, max_pages, max_seconds)
    elif kind == "html":
        text = _html_to_text(data)
    else:
        text = decode_text(data)
        if "\x00" in text:
            raise ReportError("The file looks binary, not a text report.")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    total = len(text) if len(text) > max_chars else None
    return ReportText(text[:max_chars], pages, total)
