"""Report ingest quality: the report's own summary and language, its TLP line, the original
file kept for those who may see the report, the analyst's name and description, context
sentences that do not glue a heading on, and file names written in prose."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.errors import NotFound
from minga.extract import extract_iocs
from minga.ingest import drafts, files, report
from minga.intel import service
from minga.policy import Reach, Tlp
from tests.conftest import add_member

REPORT = """TLP:AMBER

Campaña de phishing contra municipalidades

Resumen ejecutivo

Entre marzo y abril de 2025 el grupo envió correos con el adjunto Planilla_Marzo_2025.zip a
funcionarios de municipalidades de Costa Rica. El adjunto instala un cargador que contacta
su servidor de mando.

Infraestructura
El servidor 185.220.101.4 recibía los datos robados.
"""

RELATORIO = """Campanha contra prefeituras

Resumo

Os atacantes enviaram mensagens com o anexo Nota_Fiscal_2025.zip para servidores das
prefeituras. O anexo instala um carregador que contata o servidor 185.220.101.9.
"""


def test_spanish_report_keeps_its_summary_language_and_tlp_line():
    assert report.guess_language(REPORT) == "es"
    assert report.tlp_hint(REPORT) == "amber"
    assert report.title_of(REPORT, "x.pdf") == "Campaña de phishing contra municipalidades"
    summary = report.summary_of(REPORT, "Campaña de phishing contra municipalidades")
    assert summary.startswith("Entre marzo y abril de 2025")
    assert summary.endswith("contacta su servidor de mando.")
    described = report.description_of(summary, "es", "informe.pdf")
    assert described.endswith("Indicadores revisados del informe «informe.pdf».")
    assert "Indicators" not in described


def test_portuguese_report_gets_a_portuguese_description():
    assert report.guess_language(RELATORIO) == "pt"
    summary = report.summary_of(RELATORIO, "Campanha contra prefeituras")
    assert summary.startswith("Os atacantes enviaram")
    assert report.description_of(summary, "pt", "r.pdf").endswith("do relatório «r.pdf».")


def test_tlp_lines():
    assert report.tlp_hint("TLP: AMBER+STRICT\nTexto") == "amber+strict"
    assert report.tlp_hint("Distribución TLP:WHITE") == "clear"
    assert report.tlp_hint("sin marca") is None
    assert report.tlp_hint("TLP:GREEN arriba, TLP:RED abajo") is None  # contradictory: no hint


def test_heading_is_not_glued_to_the_next_sentence_and_file_names_in_prose():
    found = {i.value: i for i in extract_iocs(REPORT, include_benign=True)}
    assert found["185.220.101.4"].sentence == "El servidor 185.220.101.4 recibía los datos robados."
    assert found["Planilla_Marzo_2025.zip"].type.value == "file_name"
    # a wrapped line of prose is still one sentence
    wrapped = "The actor was attributed to the well known\nLazarus Group which used 1.2.3.4 widely."
    (ip,) = extract_iocs(wrapped, include_benign=True)
    assert ip.sentence.startswith("The actor was attributed")


def test_draft_keeps_the_file_and_publishes_with_the_analysts_words(
    sessions: sessionmaker[Session],
):
    a = add_member(sessions, "Org A")
    b = add_member(sessions, "Org B")
    data = REPORT.encode()
    with sessions() as s:
        draft = drafts.create_report_draft(s, a.principal, data, "campana.txt", "text/plain")
        s.commit()
    assert draft.tlp_hint == "amber" and draft.language == "es" and draft.has_file
    assert draft.description.startswith("Entre marzo y abril de 2025")
    with sessions() as s:
        assert files.of_draft(s, a.principal, draft.id).data == data
        try:
            files.of_draft(s, b.principal, draft.id)
            raise AssertionError("another organisation read the draft's file")
        except NotFound:
            pass
        drafts.publish_draft(
            s,
            a.principal,
            draft.id,
            selected=None,
            tlp=Tlp.AMBER_STRICT,
            reach=Reach.COMMUNITY,
            name="Phishing a municipalidades (marzo 2025)",
            description="Resumen propio del analista.",
        )
        s.commit()
        report_id = drafts.get_draft(s, a.principal, draft.id).report_id
        assert report_id is not None
        published = service.get_object(s, a.principal, report_id).object()
        assert published["name"] == "Phishing a municipalidades (marzo 2025)"
        assert published["description"] == "Resumen propio del analista."
        kept = files.of_report(s, a.principal, report_id)
        assert (kept.filename, kept.content_type, kept.data) == ("campana.txt", "text/plain", data)
        # TLP:AMBER+STRICT without groups: only the owner sees the report, so only it the file.
        try:
            files.of_report(s, b.principal, report_id)
            raise AssertionError("an organisation that may not see the report read its file")
        except NotFound:
            pass


def test_discarding_a_draft_drops_its_file(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        draft = drafts.create_report_draft(s, a.principal, RELATORIO.encode(), "r.md", None)
        drafts.discard_draft(s, a.principal, draft.id)
        s.commit()
        assert files.held(s, [draft.id]) == set()


def test_api_draft_tells_the_reports_words_and_publishes_the_analysts(
    client: TestClient, sessions: sessionmaker[Session]
):
    a = add_member(sessions, "Org A")
    files_sent = {"file": ("campana.txt", REPORT.encode(), "text/plain")}
    r = client.post("/api/ingest", files=files_sent, headers=a.headers)
    assert r.status_code == 201, r.text
    draft_id = r.json()["result"]["draft_id"]
    draft = client.get(f"/api/drafts/{draft_id}", headers=a.headers).json()
    assert draft["language"] == "es" and draft["tlp_hint"] == "amber"
    assert draft["original_file"] is True
    assert draft["description"].startswith("Entre marzo y abril de 2025")
    assert draft["description"].endswith("Indicadores revisados del informe «campana.txt».")
    r = client.post(
        f"/api/drafts/{draft_id}/publish",
        json={"tlp": "amber", "name": "Phishing municipal", "description": "Resumen propio."},
        headers=a.headers,
    )
    assert r.status_code == 201, r.text
    got = client.get(f"/api/objects/{r.json()['report_id']}", headers=a.headers).json()
    assert (got["object"]["name"], got["object"]["description"]) == (
        "Phishing municipal",
        "Resumen propio.",
    )
