"""A report renders to a real PDF whose text reads back, in each language, offline."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from minga.reports.pdf import html_to_pdf, pdf_text


@pytest.mark.parametrize(
    "title", ["Informe de incidente", "Relatório de incidente", "Incident report — ñ ç ã"]
)
def test_html_renders_to_a_pdf_whose_text_reads_back(title: str) -> None:
    pdf = html_to_pdf(f"<html><body><h1>{title}</h1><p>TLP:AMBER</p></body></html>")
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert title in text
    assert "TLP:AMBER" in text


def test_a_report_never_fetches_from_the_network() -> None:
    hits: list[str] = []

    class Count(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

    server = HTTPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/x.png"
        html = f'<html><body><img src="{url}"><p>still rendered</p></body></html>'
        text = pdf_text(html_to_pdf(html))
    finally:
        server.shutdown()
    assert "still rendered" in text
    assert hits == []  # refused by the fetcher, never requested
