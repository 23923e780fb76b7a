"""Receipts between in-process nodes: origin (both backends) ← hub ← CSIRT CR (SQLite).

Versions are placed at the hub and CR as sync stores them (the object plus its arrival); the
receipts then travel for real: each node's drain POSTs to the next node's app, which verifies,
forwards or keeps them. The origin shows the tally on REST and on the object page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.federation import peers
from minga.federation.keys import display_fingerprint
from minga.federation.models import Arrival, PeerNode
from minga.federation.receipt_drain import Drain, backoff
from minga.federation.receipt_models import OutgoingReceipt
from minga.intel import service as intel
from minga.policy import Principal, Reach, Role
from tests.conftest import Member, add_member
from tests.factories import indicator
from tests.federation.peerkit import OtherNode, init_node, other_node
from tests.web.conftest import sign_in

ORIGIN = "minga-node"  # the default node name of the `client` app


@pytest.fixture(autouse=True)
def no_background_drains(monkeypatch: pytest.MonkeyPatch) -> None:
    # The other nodes read their settings from the environment: the tests drive the drains.
    monkeypatch.setenv("MINGA_FEDERATION_RECEIPTS_SECONDS", "0")


@dataclass
class World:
    origin: TestClient
    origin_sessions: sessionmaker[Session]
    operator: Member
    hub: OtherNode
    cr: OtherNode
    # One drain per node (a second one would wait for the first one's lease): the hub's sends
    # to the origin's app, CR's to the hub's.
    hub_drain: Drain
    cr_drain: Drain


def peer_up(
    monkeypatch: pytest.MonkeyPatch,
    upstream: tuple[sessionmaker[Session], str, str, str, Any],
    downstream: OtherNode,
) -> None:
    """Each side adds the other; the downstream node holds the token the upstream one gave it."""
    up_sessions, up_name, up_fp, up_url, up_fetch = upstream
    env = f"TOKEN_{up_name}_FOR_{downstream.name}".upper().replace("-", "_")
    with up_sessions() as s:
        added = peers.add_peer(
            s, None, name=downstream.name, url=downstream.url,
            fingerprint_text=display_fingerprint(downstream.fingerprint), direction="both",
            token_env="UNUSED", fetch=downstream.fetch,
        )  # fmt: skip
        s.commit()
    monkeypatch.setenv(env, added.token.token)
    with downstream.sessions() as s:
        peers.add_peer(
            s, None, name=up_name, url=up_url, fingerprint_text=up_fp,
            direction="both", token_env=env, fetch=up_fetch,
        )  # fmt: skip
        s.commit()


@pytest.fixture
def world(
    client: TestClient,
    sessions: sessionmaker[Session],
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    operator = init_node(sessions, "ISAC Finanzas", "GT")
    origin_doc = client.get("/federation/node").json()
    with (
        other_node(sqlite_template, tmp_path, "hub", "Regional Hub", "PA") as hub,
        other_node(sqlite_template, tmp_path, "csirt-cr", "CSIRT CR", "CR") as cr,
    ):
        origin_fp = origin_doc["fingerprint"]
        origin = (sessions, ORIGIN, origin_fp, "http://origin.test", lambda url: origin_doc)
        peer_up(monkeypatch, origin, hub)
        peer_up(monkeypatch, (hub.sessions, hub.name, hub.fingerprint, hub.url, hub.fetch), cr)
        hub_drain = Drain(hub.sessions, hub.name, http=client)
        cr_drain = Drain(cr.sessions, cr.name, http=hub.client)
        yield World(client, sessions, operator, hub, cr, hub_drain, cr_drain)


def store_as_sync_does(node: OtherNode, from_peer: str, obj: dict[str, Any], hops: int) -> None:
    """What receiving a version does at `node`: the object (origin kept) and its arrival."""
    with node.sessions() as s:
        peer = peers.get_peer(s, from_peer)
        org = accounts.get_organisation(s, peer.org_id)
        machine = Principal(
            user_id=0, org_id=org.id, role=Role.MACHINE, identity_ref=org.identity_ref
        )
        intel.create_objects(
            s, machine, [dict(obj)], reach=Reach.FEDERATION, enforce_creator=False,
            provenance=intel.Provenance(origin_node=ORIGIN, hop_count=hops),
        )  # fmt: skip
        s.add(
            Arrival(
                stix_id=obj["id"], modified=obj["modified"], revoked=bool(obj.get("revoked")),
                origin_node=ORIGIN, origin_key="0" * 64, hop_count=hops, from_peer_id=peer.id,
                arrived_at=datetime.now(UTC),
            )
        )  # fmt: skip
        s.commit()


def test_receipts_walk_back_to_the_origin_and_it_shows_the_tally(world: World):
    w = world
    headers = w.operator.headers
    obj = indicator(41, name="Banking trojan C2")
    created = w.origin.post("/api/objects?reach=federation&tlp=clear", json=obj, headers=headers)
    assert created.status_code == 201, created.text
    stored = w.origin.get(f"/api/objects/{obj['id']}", headers=headers).json()
    assert stored["meta"]["receipts"] == {"received": 0, "recalled": 0}
    sent = stored["object"]
    store_as_sync_does(w.hub, ORIGIN, sent, 1)
    store_as_sync_does(w.cr, "hub", sent, 2)

    assert w.cr_drain.round() == 1  # CR → hub: forwarded on
    assert w.hub_drain.round() == 2  # hub's own and CR's → origin: kept
    assert w.hub_drain.round() == 0  # nothing is sent twice

    tally = w.origin.get(f"/api/objects/{obj['id']}/receipts", headers=headers).json()
    assert (tally["received"], tally["recalled"]) == (2, 0)
    assert tally["origin_node"] is None
    nodes = {n["node"]: n for n in tally["nodes"]}
    assert set(nodes) == {"hub", "csirt-cr"}
    assert nodes["hub"]["fingerprint"] == w.hub.fingerprint
    assert nodes["csirt-cr"]["key_vouched"] is True  # the origin is not pinned to CR
    assert nodes["hub"]["key_vouched"] is False
    assert nodes["csirt-cr"]["versions"] == [sent["modified"]]
    meta = w.origin.get(f"/api/objects/{obj['id']}", headers=headers).json()["meta"]
    assert meta["receipts"] == {"received": 2, "recalled": 0}

    # The recall: revoked at the origin, the revoked version reaches both, receipts come back.
    revoked = w.origin.post(f"/api/objects/{obj['id']}/revoke", headers=headers).json()["object"]
    store_as_sync_does(w.hub, ORIGIN, revoked, 1)
    store_as_sync_does(w.cr, "hub", revoked, 2)
    assert w.cr_drain.round() == 1
    assert w.hub_drain.round() == 2
    tally = w.origin.get(f"/api/objects/{obj['id']}/receipts", headers=headers).json()
    assert (tally["received"], tally["recalled"]) == (2, 2)
    assert all(n["recalled_at"] for n in tally["nodes"])

    sign_in(w.origin, w.operator.token)
    page = w.origin.get(f"/objects/{obj['id']}?lang=en")
    assert page.status_code == 200
    assert "Received by 2 nodes, recalled at 2 of 2" in page.text
    assert "csirt-cr" in page.text
    page = w.origin.get(f"/objects/{obj['id']}?lang=es")
    assert "Recibido por 2 nodos, retirado en 2 de 2" in page.text

    # The hub keeps no tally (receipts are the origin's); its REST says whose they are.
    hub_obj = w.hub.client.get(f"/api/objects/{obj['id']}", headers=w.hub.operator.headers)
    assert hub_obj.status_code == 200
    assert hub_obj.json()["meta"]["receipts"] is None
    hub_tally = w.hub.client.get(
        f"/api/objects/{obj['id']}/receipts", headers=w.hub.operator.headers
    ).json()
    assert hub_tally["origin_node"] == ORIGIN and hub_tally["received"] == 0


def test_an_unreachable_peer_is_retried_with_backoff(world: World, monkeypatch):
    w = world
    obj = indicator(42)
    w.origin.post("/api/objects?reach=federation&tlp=clear", json=obj, headers=w.operator.headers)
    store_as_sync_does(w.hub, ORIGIN, obj, 1)
    w.hub_drain.http = httpx.Client(timeout=2, transport=httpx.HTTPTransport(retries=0))
    with w.hub.sessions() as s:
        peer = s.scalars(select(PeerNode).where(PeerNode.name == ORIGIN)).one()
        peer.url = "http://127.0.0.1:9"  # discard port: nothing listens
        s.commit()
    assert w.hub_drain.round() == 0
    with w.hub.sessions() as s:
        row = s.scalars(select(OutgoingReceipt)).one()
        peer = peers.get_peer(s, ORIGIN)
        assert row.status == "queued" and row.attempts == 1
        assert "could not be reached" in (row.last_error or "")
        assert "could not be reached" in (peer.last_error or "")
        first_try = row.next_attempt_at
    # Not due yet: the next round sends nothing and changes nothing.
    assert w.hub_drain.round() == 0
    with w.hub.sessions() as s:
        row = s.scalars(select(OutgoingReceipt)).one()
        assert (row.attempts, row.next_attempt_at) == (1, first_try)
        row.next_attempt_at = datetime(2000, 1, 1, tzinfo=UTC)  # its time has come
        s.commit()
    # A token that is gone: the reason says which variable to set.
    monkeypatch.delenv(peer.token_env)
    w.hub_drain.http = w.origin
    assert w.hub_drain.round() == 0
    with w.hub.sessions() as s:
        row = s.scalars(select(OutgoingReceipt)).one()
        assert row.attempts == 2 and peer.token_env in (row.last_error or "")
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 9, 30)] == [2, 4, 8, 300, 300]


def test_only_a_peer_machine_account_delivers_receipts(world: World):
    w = world
    member = add_member(w.origin_sessions, "Banco Uno", country="GT")
    body = {"receipts": []}
    assert w.origin.post("/federation/receipts", json=body).status_code == 401
    refused = w.origin.post("/federation/receipts", json=body, headers=member.headers)
    assert refused.status_code == 403
    assert "peer node" in refused.json()["message"]
    bad = w.origin.post("/federation/receipts", content=b"{nope", headers={**member.headers})
    assert 400 <= bad.status_code < 500 and "JSON" in bad.json()["message"]
    for wrong in ({"receipts": "x"}, [], {"receipts": [{}] * 1001}):
        answer = w.origin.post("/federation/receipts", json=wrong, headers=member.headers)
        assert 400 <= answer.status_code < 500, answer.text
    unknown = w.origin.get(
        f"/api/objects/{indicator(999)['id']}/receipts", headers=w.operator.headers
    )
    assert unknown.status_code == 404


def test_a_peer_gets_each_receipts_outcome(world: World):
    """The hub delivers, with its own token: a good receipt, a tampered one, an unknown id."""
    w = world
    obj = indicator(43)
    w.origin.post("/api/objects?reach=federation&tlp=clear", json=obj, headers=w.operator.headers)
    store_as_sync_does(w.hub, ORIGIN, obj, 1)
    with w.hub.sessions() as s:
        from minga.federation.keys import node_identity
        from minga.federation.receipts import receipt_document

        me = node_identity(s, name="hub", url=w.hub.url)
        good = receipt_document(me, obj["id"], obj["modified"], "received")
        unknown = receipt_document(me, indicator(998)["id"], obj["modified"], "received")
        token_env = peers.get_peer(s, ORIGIN).token_env
    import os

    headers = {"Authorization": f"Bearer {os.environ[token_env]}"}
    body = {
        "receipts": [
            {"receipt": good},
            {"receipt": {**good, "node": "someone-else"}},
            {"receipt": unknown},
            {"receipt": good},
        ]
    }
    answer = w.origin.post("/federation/receipts", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert [r["outcome"] for r in out["results"]] == ["stored", "rejected", "rejected", "duplicate"]
    assert (out["stored"], out["rejected"], out["duplicate"], out["forwarded"]) == (1, 2, 1, 0)
    assert "signature" in out["results"][1]["reason"]
