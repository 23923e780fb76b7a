"""Evidence for CMM factors: what a country's organisations shared (as the reader may see it),
the directory, and reference knowledge left out."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from minga.accounts.node import set_operator_org
from minga.assessments import evidence
from minga.knowledge import service as knowledge
from tests.conftest import add_member
from tests.factories import indicator, malware

KEV = Path(__file__).parents[1] / "knowledge" / "fixtures" / "kev.json"


def test_sharing_evidence_counts_what_the_reader_sees(client, sessions: sessionmaker[Session]):
    hub = add_member(sessions, "Hub", role="admin", country="PA")
    with sessions() as s:
        set_operator_org(s, hub.org_id)
        s.commit()
        knowledge.update(s, "kev", str(KEV))  # 5 vulnerabilities owned by the hub: not sharing
        s.commit()
    csirt = add_member(sessions, "CSIRT PA", country="PA")
    reader = add_member(sessions, "CSIRT GT", country="GT")
    for n in range(3):
        assert (
            client.post("/api/objects", json=indicator(n + 1), headers=csirt.headers).status_code
            == 201
        )
    r = client.post("/api/objects?tlp=red", json=malware(9), headers=csirt.headers)
    assert r.status_code == 201  # TLP:RED without a group: only its owner sees it
    assert client.post("/api/objects", json=indicator(20), headers=hub.headers).status_code == 201
    with sessions() as s:
        mine = evidence.for_country(s, csirt.principal, "PA")
        theirs = evidence.for_country(s, reader.principal, "PA")
    sharing = {e.ref: e.count for e in mine["D1.2"] if e.kind == "sharing"}
    assert sharing == {f"sharing:org:{csirt.org_id}": 4, f"sharing:org:{hub.org_id}": 1}
    seen = {e.ref: e.count for e in theirs["D1.2"] if e.kind == "sharing"}
    assert seen == {f"sharing:org:{csirt.org_id}": 3, f"sharing:org:{hub.org_id}": 1}
    assert all(e.url.startswith("/objects?owner=") for e in theirs["D1.3"] if e.kind == "sharing")
    # No vulnerabilities were shared: the KEV catalogue is the node's reference data.
    assert "D5.6" not in theirs
    directory = [e.label for e in theirs["D1.2"] if e.kind == "directory"]
    assert directory == ["Organisations of kind csirt in PA (2): CSIRT PA, Hub"]
