"""The whole chain across two real `minga serve` processes: victim → sector ISAC → national
CSIRT on node a, then → the foreign CSIRT running node b (a federation peer). The escalation
travels signed with a's key and opens the linked incident on b; b's acknowledgement travels
back the same way. A forged or unsigned document is refused."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Member, add_member
from tests.federation.served import ServedNode, join, wait_for


@dataclass
class Pair:
    a: ServedNode
    b: ServedNode
    victim: Member
    isac: Member


# The module's tests on one worker, so that its pair of nodes is built once (it was built on two).
pytestmark = pytest.mark.xdist_group("incidents-nodes")


@pytest.fixture(scope="module")
def pair(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("incidents-federation")
    nodes = []
    for name, country in (("a", "CR"), ("b", "GT")):
        shutil.copy(sqlite_template, tmp / f"{name}.db")
        node = ServedNode(name, f"sqlite:///{tmp / f'{name}.db'}", tmp / f"{name}.log")
        node.init(country)
        nodes.append(node)
    a, b = nodes
    victim = add_member(a.sessions(), "Banco Victima")
    isac = add_member(a.sessions(), "ISAC Financiero")
    join(a, b)
    try:
        a.start()
        b.start()
        # Each key is pinned at first contact by the sync loop.
        unpinned = "SELECT count(*) FROM federation_peers WHERE public_key IS NULL"
        assert wait_for(
            lambda: a.query(unpinned)[0][0] == 0 and b.query(unpinned)[0][0] == 0, seconds=90
        )
        yield Pair(a, b, victim, isac)
    finally:
        a.stop()
        b.stop()


def _call(node: ServedNode, m: Member, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {m.token}"}
    return httpx.request(method, node.url + path, headers=headers, timeout=120, **kw)


def test_victim_isac_csirt_and_a_foreign_csirt(pair: Pair) -> None:
    a, b = pair.a, pair.b
    assert a.operator is not None and b.operator is not None
    r = _call(a, pair.victim, "POST", "/api/incidents", json={
        "title": "Ransomware en pagos", "classification": "malicious-code:infected-system",
        "severity": "very-high", "tlp": "amber", "description": "Servidores de pago cifrados.",
    })  # fmt: skip
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    hop1 = _call(a, pair.victim, "POST", f"/api/incidents/{first}/escalate",
                 json={"to_org_id": pair.isac.org_id, "ack_hours": 1}).json()  # fmt: skip
    assert _call(a, pair.isac, "POST", f"/api/incidents/{hop1['to_incident_id']}/acknowledge")
    hop2 = _call(a, pair.isac, "POST", f"/api/incidents/{hop1['to_incident_id']}/escalate",
                 json={"to_org_id": a.operator.org_id, "ack_hours": 2}).json()  # fmt: skip
    national = hop2["to_incident_id"]
    r = _call(a, a.operator, "POST", f"/api/incidents/{national}/acknowledge")
    assert r.status_code == 200, r.text

    # Across the border: node a's CSIRT escalates to peer b, withholding the description.
    to_b = {"peer": "b", "tlp": "amber", "redact": ["description"], "ack_hours": 6}
    r = _call(a, a.operator, "POST", f"/api/incidents/{national}/escalate", json=to_b)
    assert r.status_code == 201, r.text
    hop3 = r.json()
    assert hop3["state"] == "pending" and hop3["tlp"] == "amber"

    # On b: the incident is there, held by b's CSIRT, reported by node a, description withheld.
    listed = _call(b, b.operator, "GET", "/api/incidents?q=Ransomware").json()
    assert len(listed) == 2  # a's case as b knows it, and b's own linked incident
    mine = next(i for i in listed if i["org_id"] == b.operator.org_id)
    assert mine["description"] == "" and mine["organisation"] == "CSIRT b"
    due = _call(b, b.operator, "GET", "/api/incidents/deadlines").json()
    assert [
        (d["kind"], d["incident_id"], d["state"]) for d in due if d["kind"] == "acknowledge"
    ] == [("acknowledge", mine["id"], "pending")]
    chain_b = _call(b, b.operator, "GET", f"/api/incidents/{mine['id']}/escalation").json()
    assert [(h["to_org"], h["state"], h["ack_due_at"]) for h in chain_b] == [
        ("CSIRT b", "pending", hop3["ack_due_at"])
    ]

    # b acknowledges; the acknowledgement travels back to a, signed.
    r = _call(b, b.operator, "POST", f"/api/incidents/{mine['id']}/acknowledge")
    assert r.status_code == 200, r.text
    chain_a = _call(a, a.operator, "GET", f"/api/incidents/{national}/escalation").json()
    assert [(h["from_incident_id"], h["state"]) for h in chain_a] == [
        (first, "acknowledged"),
        (hop1["to_incident_id"], "acknowledged"),
        (national, "acknowledged"),
    ]
    timeline = _call(a, a.operator, "GET", f"/api/incidents/{national}/timeline").json()
    assert any("acknowledged by CSIRT b on node b" in e["text"] for e in timeline)
    # The victim sees its own hop, not the CSIRTs' cases.
    assert _call(a, pair.victim, "GET", f"/api/incidents/{national}").status_code == 404


def test_forged_and_unsigned_documents_are_refused(pair: Pair) -> None:
    a, b = pair.a, pair.b
    assert b.operator is not None
    token_of_a_at_b = a.env["MINGA_PEER_TOKEN_B"]
    doc = {"type": "minga-incident-escalation", "from_node": "a", "ref": "x", "signature": "AAAA"}
    r = httpx.post(
        b.url + "/federation/incidents", json=doc,
        headers={"Authorization": f"Bearer {token_of_a_at_b}"}, timeout=60,
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["error"] == "signature_rejected"
    # Only a peer's machine account sends incident documents.
    r = _call(b, b.operator, "POST", "/federation/incidents", json=doc)
    assert r.status_code == 403
