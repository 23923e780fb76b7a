"""Report drafts: create, review, publish (one all-or-nothing write), discard; bad files."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.errors import Conflict, Forbidden, InvalidInput, NotFound
from minga.ingest import drafts, report
from minga.ingest.report import guess_language, title_of
from minga.intel import service
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Reach, Tlp
from tests.conftest import add_member

SHA256 = "765ee864f53d20849a4f05823afafde23463e40cd25d7dd6c1160fa01cd676b7"
REPORT_ES = """# Campaña Conti contra instituciones de Costa Rica

Los atacantes usaron el servidor 45.153.160.2 y el dominio pagos-hacienda[.]com para la
descarga del malware. La muestra tiene el hash SHA-256

765ee864f53d20849a4f05823afafde23463e40cd25d7dd6c1160fa01cd676b7. También aprovecharon la
vulnerabilidad CVE-2021-44228 y la técnica T1059.001 de ATT&CK. La documentación de Microsoft
en microsoft.com no es un indicador.
"""


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Los atacantes usaron el servidor para la descarga del malware y también", "es"),
        ("Os atacantes usaram o servidor para o download do malware e não pararam", "pt"),
        ("The attackers used the server for the download of the malware and it was", "en"),
        ("203.0.113.5 evil-domain.net", ""),
    ],
)
def test_guess_language(text: str, lang: str):
    assert guess_language(text) == lang


def test_title_of():
    assert title_of("\n\n# Operación X\nbody", "r.pdf") == "Operación X"
    assert title_of("= Casbaneiro IoCs\n====\nbody", None) == "Casbaneiro IoCs"
    assert title_of("x\n" * 3, "/tmp/informe-2024.pdf") == "informe-2024"
    assert title_of("", None) == "Untitled report"


def test_draft_says_what_was_not_read(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    a = add_member(sessions, "Org A")
    monkeypatch.setattr(report, "MAX_TEXT_CHARS", 60)
    monkeypatch.setattr(report, "MAX_ITEMS", 1)
    text = "C2 45.153.160.2 and 45.153.160.3 and 45.153.160.4.\n" + "filler " * 20 + "10.9.8.7"
    with sessions() as s:
        draft = drafts.create_report_draft(s, a.principal, text.encode(), "long.txt", None)
        s.commit()
    assert [i.value for i in draft.items] == ["45.153.160.2"]
    assert [(lim.code, lim.read, lim.total) for lim in draft.limits] == [
        ("text_chars", 60, len(text)),
        ("items", 1, 3),  # 10.9.8.7 lies past the 60 characters searched
    ]
    assert draft.limits[1].message == "Only the first 1 of the 3 indicators found are listed."
    with sessions() as s:
        assert drafts.get_draft(s, a.principal, draft.id).limits == draft.limits
    monkeypatch.undo()
    with sessions() as s:  # a report that fits is not flagged
        short = drafts.create_report_draft(s, a.principal, REPORT_ES.encode(), "c.md", None)
    assert short.limits == []


def test_create_list_get_draft(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        draft = drafts.create_report_draft(s, a.principal, REPORT_ES.encode(), "conti.md", None)
        s.commit()
    assert (draft.name, draft.filename, draft.language, draft.status) == (
        "Campaña Conti contra instituciones de Costa Rica", "conti.md", "es", "draft",
    )  # fmt: skip
    summary = [(i.index, i.type, i.value, i.benign, i.selected) for i in draft.items]
    assert summary == [
        (0, "ipv4", "45.153.160.2", False, True),
        (1, "domain", "pagos-hacienda.com", False, True),
        (2, "sha256", SHA256, False, True),
        (3, "cve", "CVE-2021-44228", False, True),
        (4, "attack_technique", "T1059.001", False, True),
        (5, "domain", "microsoft.com", True, False),
    ]  # fmt: skip
    domain = draft.items[1]
    assert domain.raw == "pagos-hacienda[.]com"
    assert REPORT_ES[domain.start : domain.end] == "pagos-hacienda[.]com"
    assert "pagos-hacienda[.]com" in domain.sentence
    with sessions() as s:
        assert drafts.get_draft(s, a.principal, draft.id) == draft
        assert [d.id for d in drafts.list_drafts(s, a.principal)] == [draft.id]


def _draft(sessions: sessionmaker[Session], member, text: str = REPORT_ES) -> int:
    with sessions() as s:
        draft = drafts.create_report_draft(s, member.principal, text.encode(), "conti.md", None)
        s.commit()
    return draft.id


def test_publish_selected_items_as_one_report(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    draft_id = _draft(sessions, a)
    with sessions() as s:
        result = drafts.publish_draft(s, a.principal, draft_id, selected=None)
        s.commit()
        draft = drafts.get_draft(s, a.principal, draft_id)
    assert draft.status == "published"
    assert len(result.created) == 6  # report + 3 indicators + vulnerability + attack-pattern
    with sessions() as s:
        found = service.get_object(s, a.principal, draft.report_id)
        report = found.object()
        assert (found.tlp, found.reach) == (Tlp.AMBER, Reach.COMMUNITY)
        assert report["name"] == "Campaña Conti contra instituciones de Costa Rica"
        # The report's own first paragraph, then where the indicators came from, in Spanish.
        assert report["description"].startswith("Los atacantes usaron el servidor 45.153.160.2")
        assert report["description"].endswith("Indicadores revisados del informe «conti.md».")
        assert report["lang"] == "es"
        assert report["created_by_ref"] == a.principal.identity_ref
        assert report["object_marking_refs"] == [TLP2_MARKING_ID[Tlp.AMBER]]
        parts = [service.get_object(s, a.principal, ref).object() for ref in report["object_refs"]]
    assert [(p["type"], p["name"]) for p in parts] == [
        ("indicator", "45.153.160.2"),
        ("indicator", "pagos-hacienda.com"),
        ("indicator", SHA256),
        ("vulnerability", "CVE-2021-44228"),
        ("attack-pattern", "T1059.001"),
    ]
    assert parts[1]["pattern"] == "[domain-name:value = 'pagos-hacienda.com']"
    assert parts[3]["external_references"] == [
        {"source_name": "cve", "external_id": "CVE-2021-44228"}
    ]
    assert parts[4]["external_references"] == [
        {
            "source_name": "mitre-attack",
            "external_id": "T1059.001",
            "url": "https://attack.mitre.org/techniques/T1059/001/",
        }
    ]
    with sessions() as s, pytest.raises(Conflict):
        drafts.publish_draft(s, a.principal, draft_id, selected=None)


def test_publish_a_chosen_subset_with_tlp_and_reach(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    draft_id = _draft(sessions, a)
    with sessions() as s:
        result = drafts.publish_draft(
            s, a.principal, draft_id, selected=[0, 5], tlp=Tlp.GREEN, reach=Reach.FEDERATION
        )
        s.commit()
        ids = [i for i, _ in result.created]
        assert [i.split("--")[0] for i in ids] == ["report", "indicator", "indicator"]
        got = service.get_object(s, a.principal, ids[2])
        assert (got.tlp, got.reach, got.object()["name"]) == (
            Tlp.GREEN, Reach.FEDERATION, "microsoft.com",
        )  # fmt: skip


def test_publish_refusals_store_nothing(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    draft_id = _draft(sessions, a)
    with sessions() as s:
        with pytest.raises(InvalidInput, match=r"has no items \[9\]"):
            drafts.publish_draft(s, a.principal, draft_id, selected=[0, 9])
        with pytest.raises(InvalidInput, match="select at least one item"):
            drafts.publish_draft(s, a.principal, draft_id, selected=[])
        with pytest.raises(Forbidden, match="sharing groups your organisation belongs to"):
            drafts.publish_draft(s, a.principal, draft_id, selected=[0], group_ids=[999])
        s.rollback()
        assert drafts.get_draft(s, a.principal, draft_id).status == "draft"
        page = service.list_objects(s, a.principal, service.ObjectQuery(types=["indicator"]))
        assert page.items == []


def test_drafts_are_private_to_their_organisation(sessions: sessionmaker[Session]):
    a, b = add_member(sessions, "Org A"), add_member(sessions, "Org B")
    draft_id = _draft(sessions, a)
    with sessions() as s:
        assert drafts.list_drafts(s, b.principal) == []
        for call in (drafts.get_draft, drafts.discard_draft):
            with pytest.raises(NotFound, match=f"no draft {draft_id} of your organisation"):
                call(s, b.principal, draft_id)
        with pytest.raises(NotFound):
            drafts.publish_draft(s, b.principal, draft_id, selected=None)


def test_readers_may_not_create_or_publish(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    draft_id = _draft(sessions, a)
    with sessions() as s:
        from minga.accounts import service as accounts

        reader = accounts.create_user(s, None, org_id=a.org_id, name="reader-a", role="reader")
        principal = accounts.principal_for(s, reader)
        with pytest.raises(Forbidden):
            drafts.create_report_draft(s, principal, b"1.2.3.4", "x.txt", None)
        with pytest.raises(Forbidden):
            drafts.publish_draft(s, principal, draft_id, selected=None)
        assert drafts.get_draft(s, principal, draft_id).id == draft_id


def test_discard(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    draft_id = _draft(sessions, a)
    with sessions() as s:
        drafts.discard_draft(s, a.principal, draft_id)
        s.commit()
        with pytest.raises(NotFound):
            drafts.get_draft(s, a.principal, draft_id)


# -- bad files --------------------------------------------------------------------------------


def _create(sessions: sessionmaker[Session], data: bytes, name: str | None = "x"):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        return drafts.create_report_draft(s, a.principal, data, name, None)


def test_corrupt_pdf_is_a_clear_error(sessions: sessionmaker[Session]):
    with pytest.raises(InvalidInput, match="The PDF file is corrupt or unreadable"):
        _create(sessions, b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage \x00\x01", "r.pdf")


def test_binary_and_empty_files_are_refused(sessions: sessionmaker[Session]):
    with pytest.raises(InvalidInput, match="Unsupported file type"):
        _create(sessions, b"MZ\x90\x00" + b"\x00" * 100, None)


def test_huge_single_line_text_gives_a_bounded_result(sessions: sessionmaker[Session]):
    data = b"x" * (20 * 1024 * 1024) + b" 203.0.113.9"
    draft = _create(sessions, data, "line.txt")
    assert draft.items == []  # the address lies past the part searched for indicators
    assert len(draft.excerpt) == 2000


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "latin-1", "cp1252"])
def test_other_encodings_are_read(sessions: sessionmaker[Session], encoding: str):
    text = "Campaña de phishing: la dirección 203.0.113.77 está activa también."
    draft = _create(sessions, text.encode(encoding), "informe.txt")
    assert [(i.type, i.value) for i in draft.items] == [("ipv4", "203.0.113.77")]
    assert draft.language == "es"
    assert draft.name == text
