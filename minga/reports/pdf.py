"""PDF from HTML with WeasyPrint, and the text of a PDF read back (tests, previews).

Reports are HTML first (the same page a browser shows), so one template gives both; WeasyPrint
lays it out for print without a browser or any network access: its URL fetcher allows only
`data:` URLs, so a report can never reach out (or read a local file) while it renders."""

from __future__ import annotations

from io import BytesIO

PRINT_CSS = """
@page { size: A4; margin: 18mm 16mm 20mm 16mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; line-height: 1.4; color: #111; }
h1 { font-size: 17pt; margin: 0 0 4mm; } h2 { font-size: 13pt; margin: 6mm 0 2mm; }
table { border-collapse: collapse; width: 100%; } th, td { border: 0.5pt solid #999;
        padding: 1.5mm 2mm; text-align: left; vertical-align: top; }
.tlp { font-weight: bold; } .muted { color: #555; }
"""


def html_to_pdf(html: str, *, extra_css: str = "") -> bytes:
    """The PDF of a complete HTML document (A4, page numbers, the print style above)."""
    from weasyprint import CSS, HTML  # imported on use: it loads pango, ~0.3 s
    from weasyprint.urls import URLFetcher

    out = BytesIO()
    offline = URLFetcher(allowed_protocols={"data"})
    HTML(string=html, url_fetcher=offline).write_pdf(
        out, stylesheets=[CSS(string=PRINT_CSS + extra_css)]
    )
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    """The text of a PDF, in reading order (pdfminer), to check what a report says."""
    from pdfminer.high_level import extract_text

    return str(extract_text(BytesIO(data)))
