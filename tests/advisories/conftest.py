"""A CSIRT with an analyst and a coordinator, TLP:CLEAR and TLP:AMBER objects to link, and an
advisory body in es, pt and en."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.intel import service as intel
from minga.policy import Reach, Tlp
from tests.conftest import Member, add_member
from tests.factories import BASE, indicator, sid

CVE = "CVE-2021-44228"


@dataclass
class Csirt:
    analyst: Member
    coordinator: Member
    outsider: Member
    clear_vuln: str
    clear_indicator: str
    amber_indicator: str


def vulnerability(n: int, cve: str) -> dict[str, Any]:
    return {
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": sid("vulnerability", n),
        "created": BASE,
        "modified": BASE,
        "name": cve,
        "external_references": [{"source_name": "cve", "external_id": cve}],
    }


@pytest.fixture
def csirt(sessions: sessionmaker[Session]) -> Csirt:
    analyst = add_member(sessions, "CSIRT Test", role="analyst")
    outsider = add_member(sessions, "Banco Ficticio", role="coordinator")
    with sessions() as s:
        user = accounts.create_user(
            s, None, org_id=analyst.org_id, name="coordinator-test", role="coordinator"
        )
        _, issued = accounts.issue_token(s, None, user_id=user.id)
        principal = accounts.principal_for(s, user)
        clear = [vulnerability(1, CVE), indicator(2, value="203.0.113.7")]
        intel.create_objects(s, analyst.principal, clear, tlp=Tlp.CLEAR, reach=Reach.COMMUNITY)
        intel.create_objects(
            s, analyst.principal, [indicator(3, value="198.51.100.99")], tlp=Tlp.AMBER
        )
        s.commit()
    coordinator = Member(analyst.org_id, user.id, issued.token, principal)
    return Csirt(
        analyst,
        coordinator,
        outsider,
        sid("vulnerability", 1),
        sid("indicator", 2),
        sid("indicator", 3),
    )


def body(csirt: Csirt, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "texts": {
            "es": {
                "title": "Vulnerabilidad crítica en Log4j",
                "summary": "Se explota activamente una vulnerabilidad en Apache Log4j.",
                "what_to_do": "Actualice Log4j a la versión 2.17.1 o posterior.",
            },
            "pt": {
                "title": "Vulnerabilidade crítica no Log4j",
                "summary": "Uma vulnerabilidade no Apache Log4j está sendo explorada.",
                "what_to_do": "Atualize o Log4j para a versão 2.17.1 ou posterior.",
            },
            "en": {
                "title": "Critical vulnerability in Log4j",
                "summary": "A vulnerability in Apache Log4j is being actively exploited.",
                "what_to_do": "Update Log4j to version 2.17.1 or later.",
            },
        },
        "category": "vulnerability",
        "severity": "critical",
        "sectors": ["health", "finance"],
        "products": [{"vendor": "Apache", "product": "Log4j", "versions": "2.0 to 2.17.0"}],
        "cves": [CVE],
        "references": ["https://logging.apache.org/log4j/2.x/security.html"],
        "links": [csirt.clear_vuln, csirt.clear_indicator],
    }
    data.update(changes)
    return data
