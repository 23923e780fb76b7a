"""Recall receipts as a service: made from arrivals, verified, kept at the origin or forwarded
along the path the object took, and counted per distinct node. Both backends."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from nacl.signing import SigningKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.federation import receipt_tally, receipts
from minga.federation.keys import NodeIdentity
from minga.federation.models import Arrival, PeerNode
from minga.federation.receipt_accept import KeyFor, accept, parse_batch
from minga.federation.receipt_models import OutgoingReceipt, Receipt
from minga.federation.signing import verify_document
from minga.intel import service as intel
from minga.policy import Principal, Reach, Role
from tests.conftest import add_member
from tests.factories import indicator

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def node(name: str) -> NodeIdentity:
    return NodeIdentity(name=name, url=f"http://{name}.test", signing_key=SigningKey.generate())


def add_peer(session: Session, ident: NodeIdentity) -> PeerNode:
    org = accounts.create_organisation(
        session, None, name=f"Node {ident.name}", country="GT", sector="government", kind="csirt"
    )
    org.remote_node = ident.name
    peer = PeerNode(
        name=ident.name,
        url=ident.url,
        fingerprint=ident.fingerprint,
        public_key=ident.public_key_b64,
        direction="both",
        token_env=f"TOKEN_{ident.name.upper()}",
        org_id=org.id,
        created_at=NOW,
        push_position=0,
        sent=0,
        received=0,
        rejected=0,
    )
    session.add(peer)
    session.flush()
    return peer


def remote_object(session: Session, peer: PeerNode, n: int, *, revoked: bool = False) -> str:
    """An object that originated at `peer`'s node, stored here with its arrival."""
    org = accounts.get_organisation(session, peer.org_id)
    machine = Principal(user_id=0, org_id=org.id, role=Role.MACHINE, identity_ref=org.identity_ref)
    obj = indicator(n, created_by_ref=org.identity_ref, revoked=revoked)
    intel.create_objects(
        session,
        machine,
        [obj],
        reach=Reach.FEDERATION,
        provenance=intel.Provenance(origin_node=peer.name, hop_count=1),
    )
    arrive(session, peer, obj["id"], obj["modified"], revoked=revoked)
    return str(obj["id"])


def arrive(
    session: Session, peer: PeerNode, stix_id: str, modified: str, *, revoked: bool = False
) -> Arrival:
    arrival = Arrival(
        stix_id=stix_id,
        modified=modified,
        revoked=revoked,
        origin_node=peer.name,
        origin_key=peer.fingerprint,
        hop_count=1,
        from_peer_id=peer.id,
        arrived_at=datetime.now(UTC),
    )
    session.add(arrival)
    session.flush()
    return arrival


def keys_of(*idents: NodeIdentity) -> KeyFor:
    known = {i.fingerprint: i.public_key for i in idents}
    return known.get


def item(doc: dict[str, Any], signer: NodeIdentity | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"receipt": doc}
    if signer is not None:
        out["public_key"] = signer.public_key_b64
    return out


@pytest.fixture
def here() -> NodeIdentity:
    return node("here")


def test_each_arrival_gets_one_signed_receipt_towards_the_peer_it_came_from(
    sessions: sessionmaker[Session], here: NodeIdentity
):
    origin = node("isac")
    with sessions() as s:
        peer = add_peer(s, origin)
        first = remote_object(s, peer, 1)
        recalled = remote_object(s, peer, 2, revoked=True)
        assert receipts.has_new_arrivals(s) and receipts.has_unanswered_arrivals(s)
        assert receipts.queue_from_arrivals(s, here) == 2
        assert receipts.queue_from_arrivals(s, here) == 0
        assert not receipts.has_new_arrivals(s) and not receipts.has_unanswered_arrivals(s)
        queued = s.scalars(select(OutgoingReceipt).order_by(OutgoingReceipt.id)).all()
        s.commit()
    assert [(q.stix_id, q.state, q.to_peer_id) for q in queued] == [
        (first, "received", peer.id),
        (recalled, "recalled", peer.id),
    ]
    doc = orjson.loads(queued[1].document)
    body = verify_document(doc, here.public_key)
    assert body["type"] == "minga-receipt"
    assert body["object"] == recalled
    assert body["node"] == "here"
    assert body["fingerprint"] == here.fingerprint
    assert body["modified"] == indicator(2)["modified"]
    assert queued[1].public_key == here.public_key_b64
    assert queued[0].status == "queued"


def test_the_arrival_cursor_moves_only_over_settled_arrivals(
    sessions: sessionmaker[Session], here: NodeIdentity
):
    with sessions() as s:
        peer = add_peer(s, node("isac"))
        old = arrive(s, peer, indicator(1)["id"], indicator(1)["modified"])
        old.arrived_at = datetime.now(UTC) - timedelta(hours=1)
        fresh = arrive(s, peer, indicator(2)["id"], indicator(2)["modified"])
        assert receipts.has_unanswered_arrivals(s)  # and the cursor may move over the old one
        receipts.queue_from_arrivals(s, here)
        s.commit()
        assert receipts._cursor(s) == old.id  # the fresh one may still have a slow neighbour
        assert fresh.id > old.id
        assert not receipts.has_unanswered_arrivals(s)


def test_the_origin_keeps_verified_receipts_and_counts_distinct_nodes(
    sessions: sessionmaker[Session], here: NodeIdentity
):
    gt, cr = node("csirt-gt"), node("csirt-cr")
    member = add_member(sessions, "Origin Org")
    obj = indicator(7)
    with sessions() as s:
        intel.create_objects(s, member.principal, [obj], reach=Reach.FEDERATION)
        peer = add_peer(s, gt)
        v1 = receipts.receipt_document(gt, obj["id"], obj["modified"], "received")
        v2 = receipts.receipt_document(gt, obj["id"], "2024-03-02T12:00:00.000Z", "received")
        cr_got = receipts.receipt_document(cr, obj["id"], obj["modified"], "received")
        done = accept(
            s, peer, [item(v1), item(v2), item(v1), item(cr_got, cr)], node=here,
            key_for=keys_of(gt),
        )  # fmt: skip
        assert [r.outcome for r in done.results] == ["stored", "stored", "duplicate", "stored"]
        tally = receipt_tally.summary(s, obj["id"])
        assert (tally.received, tally.recalled) == (2, 0)
        assert receipt_tally.counts(s, obj["id"]) == (2, 0)
        recall = receipts.receipt_document(gt, obj["id"], "2024-03-03T12:00:00.000Z", "recalled")
        assert accept(s, peer, [item(recall)], node=here, key_for=keys_of(gt)).count("stored") == 1
        s.commit()
        tally = receipt_tally.summary(s, obj["id"])
        assert receipt_tally.counts(s, obj["id"]) == (2, 1)  # the REST get's one-query count
        held = s.scalars(select(Receipt).where(Receipt.fingerprint == cr.fingerprint)).one()
    assert (tally.received, tally.recalled) == (2, 1)
    by_name = {n.node: n for n in tally.nodes}
    assert by_name["csirt-gt"].recalled_at == recall["at"]
    assert by_name["csirt-gt"].versions == (obj["modified"], "2024-03-02T12:00:00.000Z",
                                            "2024-03-03T12:00:00.000Z")  # fmt: skip
    assert by_name["csirt-cr"].recalled_at is None
    assert by_name["csirt-cr"].key_vouched is True  # known only through the delivering peer
    assert by_name["csirt-gt"].key_vouched is False
    assert held.via_peer_id == peer.id
    assert verify_document(orjson.loads(held.document), cr.public_key)["node"] == "csirt-cr"
    assert tally.as_dict()["received"] == 2


def test_bad_receipts_are_rejected_with_their_reason_and_nothing_kept(
    sessions: sessionmaker[Session], here: NodeIdentity
):
    gt, stranger = node("csirt-gt"), node("stranger")
    member = add_member(sessions, "Origin Org")
    obj = indicator(8)
    with sessions() as s:
        intel.create_objects(s, member.principal, [obj], reach=Reach.FEDERATION)
        peer = add_peer(s, gt)
        good = receipts.receipt_document(gt, obj["id"], obj["modified"], "received")
        tampered = {**good, "state": "recalled"}
        unknown = receipts.receipt_document(stranger, obj["id"], obj["modified"], "received")
        wrong_key = item(unknown, gt)  # vouches for a key that is not the signer's
        mine = receipts.receipt_document(here, obj["id"], obj["modified"], "received")
        no_object = receipts.receipt_document(gt, indicator(99)["id"], BASE_MOD, "received")
        bad = [
            item(tampered),
            item(unknown),
            wrong_key,
            item({**good, "state": "lost"}),
            item({**good, "type": "other"}),
            {"receipt": "nope"},
            "nope",
            item({**good, "signature": None}),
            {"receipt": unknown, "public_key": "not base64!"},
            item(mine, here),
            item(no_object),
            item({**good, "padding": "x" * 10_000}),
        ]
        done = accept(s, peer, bad, node=here, key_for=keys_of(gt))
        s.commit()
        reasons = [r.reason or "" for r in done.results]
        assert [r.outcome for r in done.results] == ["rejected"] * len(bad)
        assert s.scalars(select(Receipt)).all() == []
        assert s.scalars(select(OutgoingReceipt)).all() == []
    assert "signature does not match" in reasons[0]
    assert "not known here" in reasons[1]
    assert "does not match the receipt's fingerprint" in reasons[2]
    assert "state must be received or recalled" in reasons[3]
    assert "minga-receipt" in reasons[4]
    assert "{receipt, public_key}" in reasons[5] and "{receipt, public_key}" in reasons[6]
    assert "signature is missing" in reasons[7]
    assert "not a base64 Ed25519 key" in reasons[8]
    assert "this node's own" in reasons[9]
    assert "holds no object" in reasons[10]
    assert "unexpected fields: padding" in reasons[11]
    assert done.results[0].object == obj["id"] and done.results[0].state == "recalled"


def test_receipts_signed_in_one_batch_are_kept_each_and_a_tampered_one_is_rejected(
    sessions: sessionmaker[Session], here: NodeIdentity
):
    gt = node("csirt-gt")
    member = add_member(sessions, "Origin Org")
    objs = [indicator(n) for n in (30, 31, 32)]
    with sessions() as s:
        intel.create_objects(s, member.principal, objs, reach=Reach.FEDERATION)
        peer = add_peer(s, gt)
        versions = [(o["id"], o["modified"], "received") for o in objs]
        docs = receipts.receipt_documents(gt, versions)
        assert all("batch" in d and "signature" not in d for d in docs)
        tampered = {**docs[2], "state": "recalled"}
        done = accept(
            s, peer, [item(d) for d in (docs[0], docs[1], tampered)], node=here, key_for=keys_of(gt)
        )
        s.commit()
        assert [r.outcome for r in done.results] == ["stored", "stored", "rejected"]
        assert "signature does not match" in (done.results[2].reason or "")
        kept = s.scalars(select(Receipt).order_by(Receipt.stix_id)).all()
        assert receipt_tally.counts(s, objs[0]["id"]) == (1, 0)
    assert sorted(r.stix_id for r in kept) == sorted(o["id"] for o in objs[:2])
    assert {orjson.loads(r.document)["batch"]["signature"] for r in kept} == {
        docs[0]["batch"]["signature"]
    }


BASE_MOD = "2024-03-01T12:00:00.000Z"


def test_a_receipt_for_another_nodes_object_is_forwarded_towards_its_origin(
    sessions: sessionmaker[Session], here: NodeIdentity
):
    """The hub received the object from GT; CR's receipt goes on to GT, with CR's key."""
    gt, cr = node("csirt-gt"), node("csirt-cr")
    with sessions() as s:
        towards_origin = add_peer(s, gt)
        downstream = add_peer(s, cr)
        stix_id = remote_object(s, towards_origin, 3)
        doc = receipts.receipt_document(cr, stix_id, BASE_MOD, "received")
        first = accept(s, downstream, [item(doc)], node=here, key_for=keys_of(gt, cr))
        again = accept(s, downstream, [item(doc)], node=here, key_for=keys_of(gt, cr))
        # The peer the object came from cannot be where its receipts come from.
        back = receipts.receipt_document(gt, stix_id, BASE_MOD, "received")
        loop = accept(s, towards_origin, [item(back)], node=here, key_for=keys_of(gt))
        s.commit()
        out = s.scalars(select(OutgoingReceipt)).all()
        assert s.scalars(select(Receipt)).all() == []
    assert [r.outcome for r in first.results] == ["forwarded"]
    assert [r.outcome for r in again.results] == ["duplicate"]
    assert loop.results[0].outcome == "rejected"
    assert "received the object from" in (loop.results[0].reason or "")
    assert len(out) == 1
    forwarded = out[0]
    assert forwarded.to_peer_id == towards_origin.id
    assert forwarded.arrival_id is None
    assert forwarded.fingerprint == cr.fingerprint
    assert base64.b64decode(forwarded.public_key) == cr.public_key
    assert orjson.loads(forwarded.document) == doc  # unchanged: the origin verifies it


def test_a_batch_body_is_checked(sessions: sessionmaker[Session]):
    from minga.errors import InvalidInput

    for body in (None, [], {"receipts": {}}, {"other": []}):
        with pytest.raises(InvalidInput, match="receipts"):
            parse_batch(body)
    with pytest.raises(InvalidInput, match="at most 1000"):
        parse_batch({"receipts": [{}] * 1001})
    assert parse_batch({"receipts": [{"receipt": {}}]}) == [{"receipt": {}}]


def test_past_the_newest_answered_only_then_the_whole_window_finds_late_arrivals(
    sessions: sessionmaker[Session], here: NodeIdentity
):
    with sessions() as s:
        peer = add_peer(s, node("isac"))
        arrive(s, peer, indicator(1)["id"], indicator(1)["modified"])
        late = arrive(s, peer, indicator(2)["id"], indicator(2)["modified"])
        arrive(s, peer, indicator(3)["id"], indicator(3)["modified"])
        assert receipts.queue_from_arrivals(s, here, whole_window=False) == 3
        # One that committed late: an id below the newest answered (its receipt was lost).
        s.execute(OutgoingReceipt.__table__.delete().where(OutgoingReceipt.arrival_id == late.id))
        newer = arrive(s, peer, indicator(4)["id"], indicator(4)["modified"])
        assert receipts.queue_from_arrivals(s, here, whole_window=False) == 1  # only `newer`
        assert receipts.queue_from_arrivals(s, here, whole_window=False) == 0
        assert receipts.queue_from_arrivals(s, here) == 1  # the whole window: `late`
        answered = set(s.scalars(select(OutgoingReceipt.arrival_id)))
        assert {late.id, newer.id} <= answered
        assert receipts._cursor(s) == 0  # none settled: the cursor stays
