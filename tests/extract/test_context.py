"""Offsets, sentences, ordering, de-duplication, Spanish/Portuguese reports."""

from __future__ import annotations

from minga.extract import Ioc, IocType, extract_iocs, unique


def pairs(text: str, *, include_benign: bool = False) -> list[tuple[str, str]]:
    """(type, value) of every indicator found in ``text``, in text order."""
    return [(i.type.value, i.value) for i in extract_iocs(text, include_benign=include_benign)]


def test_offsets_and_sentence() -> None:
    text = "Intro line.\nThe dropper contacts evil[.]com over TLS. Then it sleeps."
    [ioc] = extract_iocs(text)
    assert ioc == Ioc(
        type=IocType.DOMAIN,
        value="evil.com",
        raw="evil[.]com",
        start=33,
        end=43,
        sentence="The dropper contacts evil[.]com over TLS.",
        benign=False,
    )


def test_sentence_in_a_markdown_table_row_and_list() -> None:
    text = "| IP | Role |\n|---|---|\n| 45.77.12.3 | C2 |\n\n- evil.com is the panel\n- other"
    iocs = extract_iocs(text)
    assert [(i.value, i.sentence) for i in iocs] == [
        ("45.77.12.3", "45.77.12.3 | C2"),
        ("evil.com", "- evil.com is the panel"),
    ]


def test_every_occurrence_in_text_order_and_unique() -> None:
    text = "evil.com, 45.77.12.3, EVIL.com and evil[.]com again; 45.77.12.3."
    iocs = extract_iocs(text)
    assert [(i.type.value, i.value, i.start) for i in iocs] == [
        ("domain", "evil.com", 0),
        ("ipv4", "45.77.12.3", 10),
        ("domain", "evil.com", 22),
        ("domain", "evil.com", 35),
        ("ipv4", "45.77.12.3", 53),
    ]
    assert [(i.type.value, i.value, i.start) for i in unique(iocs)] == [
        ("domain", "evil.com", 0),
        ("ipv4", "45.77.12.3", 10),
    ]


def test_spanish_report() -> None:
    text = (
        "El troyano bancario descarga factura.zip desde hxxps://cdn-facturas[.]com/f.php y "
        "envía credenciales a soporte[arroba]banco-falso[punto]com. Explota la "
        "vulnerabilidad CVE\u20112017\u201111882 (versión 2.4.1.3) y se conecta a 191.232.48.17."
    )
    assert pairs(text) == [
        ("file_name", "factura.zip"),
        ("url", "https://cdn-facturas.com/f.php"),
        ("email", "soporte@banco-falso.com"),
        ("cve", "CVE-2017-11882"),
        ("ipv4", "191.232.48.17"),
    ]


def test_portuguese_report() -> None:
    text = (
        "O malware grava C:\\Users\\Public\\boleto.exe, usa a chave "
        "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run e contata o domínio "
        "atualizacao[ponto]com[ponto]br. Versão 3.1.2.4; e-mail contato(arroba)golpe.com.br."
    )
    assert pairs(text) == [
        ("file_path", "C:\\Users\\Public\\boleto.exe"),
        ("registry_key", "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"),
        ("domain", "atualizacao.com.br"),
        ("email", "contato@golpe.com.br"),
    ]


def test_empty_text() -> None:
    assert extract_iocs("") == []
