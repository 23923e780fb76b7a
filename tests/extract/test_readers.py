"""Report readers: PDF, HTML, Markdown, text encodings, errors and limits."""

from __future__ import annotations

import codecs

import pytest

from minga.extract import ReportError, extract_iocs, read_report


def pairs(text: str, *, include_benign: bool = False) -> list[tuple[str, str]]:
    """(type, value) of every indicator found in ``text``, in text order."""
    return [(i.type.value, i.value) for i in extract_iocs(text, include_benign=include_benign)]


def _pdf(*lines: str, pages: int = 1) -> bytes:
    """A minimal PDF whose ``pages`` pages show ``lines`` (no parentheses/back-slashes)."""
    ops = " ".join(f"({line}) Tj 0 -14 Td" for line in lines)
    stream = f"BT /F1 11 Tf 72 720 Td {ops} ET".encode("latin-1")
    kids = " ".join(f"{5 + n} 0 R" for n in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids.encode(), pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ] + [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    ] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_pdf() -> None:
    data = _pdf("The implant beacons to evil[.]com", "and to 45.77.12.3 every hour.")
    text = read_report(data, "report.pdf", "application/pdf").text
    assert pairs(text) == [("domain", "evil.com"), ("ipv4", "45.77.12.3")]


def test_pdf_detected_by_magic_without_name() -> None:
    text = read_report(_pdf("CVE-2021-44228"), None, None).text
    assert pairs(text) == [("cve", "CVE-2021-44228")]


def test_pdf_page_budget_is_reported() -> None:
    whole = read_report(_pdf("a page", pages=3), "a.pdf", None)
    assert whole.text.split() == ["a", "page"] * 3
    assert whole.pdf_pages_read is None
    cut = read_report(_pdf("a page", pages=3), "a.pdf", None, max_pages=2)
    assert cut.text.split() == ["a", "page"] * 2
    assert cut.pdf_pages_read == 2


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog",
        b"%PDF-1.7\n" + bytes(range(256)) * 20,
        _pdf("truncated")[:60],
    ],
)
def test_corrupt_pdf(data: bytes) -> None:
    with pytest.raises(ReportError) as info:
        read_report(data, "broken.pdf", "application/pdf")
    assert "PDF" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_html_drops_scripts_and_separates_cells() -> None:
    html = (
        b"<!DOCTYPE html><html><head><title>t</title><style>.a{color:red}</style></head>"
        b"<body><script>var c2 = 'hidden.example.net';</script>"
        b"<p>Second stage from <b>hxxp://evil[.]com/s2.bin</b>.</p>"
        b"<table><tr><td>45.77.12.3</td><td>C2</td></tr>"
        b"<tr><td>bad-domain.org</td><td>panel</td></tr></table></body></html>"
    )
    text = read_report(html, "post.html", "text/html; charset=utf-8").text
    assert "hidden" not in text and "color" not in text
    assert pairs(text) == [
        ("url", "http://evil.com/s2.bin"),
        ("ipv4", "45.77.12.3"),
        ("domain", "bad-domain.org"),
    ]
    assert "45.77.12.3\tC2" in text


def test_html_sniffed_without_name() -> None:
    text = read_report(
        b"  <html><body><div>evil.com</div><div>x</div></body></html>", None, None
    ).text
    assert text.split() == ["evil.com", "x"]


def test_markdown_and_plain_text() -> None:
    md = b"# IOCs\n\n| IP | Note |\n|---|---|\n| 45.77.12.3 | C2 |\n"
    assert pairs(read_report(md, "iocs.md", None).text) == [("ipv4", "45.77.12.3")]
    assert read_report(b"a\r\nb\rc", "x.txt", "text/plain").text == "a\nb\nc"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF16_LE + "evil.com ñ".encode("utf-16-le"), "evil.com ñ"),
        (codecs.BOM_UTF16_BE + "evil.com ñ".encode("utf-16-be"), "evil.com ñ"),
        ("evil.com ñ".encode("utf-16-le"), "evil.com ñ"),
        (codecs.BOM_UTF8 + "evil.com ñ".encode(), "evil.com ñ"),
        ("evil.com ñ".encode(), "evil.com ñ"),
        ("evil.com “ñ”".encode("cp1252"), "evil.com “ñ”"),
        (b"evil.com \x81\xe9", "evil.com \x81é"),
    ],
)
def test_text_encodings(data: bytes, expected: str) -> None:
    assert read_report(data, "iocs.txt", None).text == expected


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "a.txt", "The file is empty."),
        (b"MZ\x90\x00\x03\x00\x00\x00", "a.exe", "Unsupported file type (Windows executable)"),
        (b"PK\x03\x04rest", "a.docx", "Unsupported file type (ZIP/Office document)"),
        (b"abc\x00\x01\x02def\x00\x00\xff" * 4, "a.bin", "The file looks binary"),
    ],
)
def test_unsupported_inputs(data: bytes, name: str, message: str) -> None:
    with pytest.raises(ReportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_report(data, name, None)


def test_size_limit() -> None:
    with pytest.raises(ReportError, match="too large"):
        read_report(b"a" * 101, "a.txt", None, max_bytes=100)


def test_text_is_capped_and_says_so() -> None:
    cut = read_report(b"x" * 50, "a.txt", None, max_chars=10)
    assert (cut.text, cut.chars_total) == ("x" * 10, 50)
    assert read_report(b"x" * 10, "a.txt", None, max_chars=10).chars_total is None
