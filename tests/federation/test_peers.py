"""Peers: identity documents, pinning by fingerprint, vouched keys, machine accounts, removal,
and the read-only remote organisations, on both backends against a second in-process node."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import invitations
from minga.accounts import service as accounts
from minga.accounts.models import Organisation, User
from minga.accounts.tokens import TokenVerifier
from minga.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from minga.federation import peers
from minga.federation.keys import display_fingerprint, fingerprint
from minga.federation.models import KnownKey, PeerNode
from minga.federation.signing import SignatureRejected, sign_document, verify_document
from minga.taxii.models import DEFAULT_COLLECTION_ID
from tests.conftest import Member, add_member
from tests.factories import malware
from tests.federation.peerkit import OtherNode, init_node, other_node


@pytest.fixture
def operator(sessions: sessionmaker[Session]) -> Member:
    return init_node(sessions)


@pytest.fixture
def gt(sqlite_template: Path, tmp_path: Path) -> Iterator[OtherNode]:
    with other_node(sqlite_template, tmp_path) as node:
        yield node


def add(s: Session, node: OtherNode, **options: str) -> peers.AddedPeer:
    values = {"direction": "both", "token_env": "GT_TOKEN", **options}
    return peers.add_peer(
        s,
        None,
        name=options.get("name", node.name),
        url=node.url,
        fingerprint_text=options.get("fingerprint", display_fingerprint(node.fingerprint)),
        direction=values["direction"],
        token_env=values["token_env"],
        fetch=node.fetch,
    )


def test_identity_document_is_signed_and_names_the_operator(client, sessions, operator):
    doc = client.get("/federation/node").json()
    key = base64.b64decode(doc["public_key"])
    body = verify_document(doc, key)
    assert body["type"] == "minga-node-identity"
    assert body["name"] == "minga-node"
    assert body["url"] == "http://127.0.0.1:8000"
    assert body["fingerprint"] == fingerprint(key)
    with sessions() as s:
        org = s.get(Organisation, operator.org_id)
        assert org is not None
        assert body["organisation"] == {
            "name": "CSIRT CR",
            "country": "CR",
            "sector": "government",
            "identity_ref": org.identity_ref,
        }
    assert body["vouches"] == []
    tampered = {**doc, "url": "http://evil.test"}
    with pytest.raises(SignatureRejected):
        verify_document(tampered, key)


def test_add_pins_the_key_and_makes_the_remote_organisation(sessions, operator, gt):
    with sessions() as s:
        added = add(s, gt)
        s.commit()
        assert added.pinned and added.machine_account == "peer-csirt-gt"
        peer = peers.get_peer(s, "csirt-gt")
        assert peer.public_key == gt.identity()["public_key"]
        assert (peer.direction, peer.token_env, peer.url) == ("both", "GT_TOKEN", gt.url)
        org = s.get(Organisation, peer.org_id)
        assert org is not None
        with gt.sessions() as g:
            gt_org = g.get(Organisation, gt.operator.org_id)
            assert gt_org is not None
            assert org.identity_ref == gt_org.identity_ref
        assert (org.name, org.country, org.remote_node) == ("CSIRT GT", "GT", "csirt-gt")
        # The token works for the machine account, and the account maps back to the peer.
        user = TokenVerifier(0).verify(s, added.token.token).principal
        assert (user.user_name, user.role.value, user.org_id) == (
            "peer-csirt-gt",
            "machine",
            org.id,
        )
        assert user.remote  # an account of another node's organisation
        assert peers.peer_for_user(s, user.user_id) == peer
        assert peers.peer_for_user(s, operator.user_id) is None
        assert peers.key_for(s)(gt.fingerprint) == base64.b64decode(peer.public_key)
        assert peers.node_for_key(s)(gt.fingerprint) == "csirt-gt"
        assert peers.key_for(s)("0" * 64) is None
        assert [p.name for p in peers.list_peers(s)] == ["csirt-gt"]


def test_a_wrong_fingerprint_is_refused_and_nothing_is_stored(sessions, operator, gt):
    other = fingerprint(bytes(SigningKey.generate().verify_key))
    with sessions() as s:
        with pytest.raises(SignatureRejected, match="compare the fingerprint"):
            add(s, gt, fingerprint=other)
        s.rollback()
        assert peers.list_peers(s) == []
        assert s.scalar(select(User).where(User.name == "peer-csirt-gt")) is None


def test_the_peer_is_added_under_its_own_node_name(sessions, operator, gt):
    with sessions() as s, pytest.raises(InvalidInput, match="calls itself 'csirt-gt'"):
        add(s, gt, name="guatemala")


def test_bad_options_get_a_sentence(sessions, operator, gt):
    with sessions() as s:
        for options, message in [
            ({"name": "no spaces"}, "peer name"),
            ({"direction": "sideways"}, "direction must be one of"),
            ({"token_env": "1BAD"}, "environment variable"),
            ({"fingerprint": "abc"}, "64 hexadecimal digits"),
        ]:
            with pytest.raises(InvalidInput, match=message):
                add(s, gt, **options)
        own = peers.fingerprint(bytes(peers.ensure_key(s).verify_key))
        with pytest.raises(InvalidInput, match="own key"):
            add(s, gt, fingerprint=own)
        add(s, gt)
        with pytest.raises(Conflict, match="already exists"):
            add(s, gt)


def test_an_unreachable_peer_is_pinned_at_first_contact(sessions, operator, gt):
    with sessions() as s:
        added = peers.add_peer(
            s,
            None,
            name="csirt-gt",
            url=gt.url,
            fingerprint_text=gt.fingerprint,
            direction="push",
            token_env="GT_TOKEN",
            country="gt",
            sector="Finance",
            fetch=lambda url: None,
        )
        s.commit()
        assert not added.pinned and added.peer.public_key is None
        org = s.get(Organisation, added.peer.org_id)
        assert org is not None and (org.country, org.sector) == ("GT", "finance")
        assert peers.key_for(s)(gt.fingerprint) is None
        stranger = base64.b64encode(bytes(SigningKey.generate().verify_key)).decode()
        with pytest.raises(SignatureRejected, match="not the pinned"):
            peers.pin_key(s, added.peer, stranger)
        with pytest.raises(SignatureRejected, match="no valid Ed25519 key"):
            peers.pin_key(s, added.peer, "not a key")
        assert added.peer.public_key is None
        peers.pin_key(s, added.peer, gt.identity()["public_key"])
        s.commit()
        assert peers.key_for(s)(gt.fingerprint) is not None


def test_refresh_identity_keeps_vouched_keys(sessions, operator, gt):
    far = SigningKey.generate()
    far_b64 = base64.b64encode(bytes(far.verify_key)).decode()
    far_fp = fingerprint(bytes(far.verify_key))
    with sessions() as s:
        peer = add(s, gt).peer
        s.commit()
        own_b64 = base64.b64encode(bytes(peers.ensure_key(s).verify_key)).decode()
        gt_key = _gt_signing_key(gt)
        body = {k: v for k, v in gt.identity().items() if k != "signature"}
        impostor = base64.b64encode(bytes(SigningKey.generate().verify_key)).decode()
        body["vouches"] = [
            {"name": "csirt-sv", "public_key": far_b64, "fingerprint": far_fp},
            {"name": "minga-node", "public_key": own_b64, "fingerprint": "x"},  # us: ignored
            {"name": "csirt-gt", "public_key": impostor, "fingerprint": "x"},  # itself: ignored
            {"name": "broken", "public_key": "???"},
        ]
        peers.refresh_identity(s, peer, sign_document(body, gt_key))
        s.commit()
        assert [(k.node_name, k.fingerprint) for k in s.scalars(select(KnownKey))] == [
            ("csirt-sv", far_fp)
        ]
        assert peers.key_for(s)(far_fp) == bytes(far.verify_key)
        assert peers.node_for_key(s)(far_fp) == "csirt-sv"
        # A vouch slipped in after signing breaks the signature; nothing changes.
        forged = sign_document({**body, "vouches": []}, gt_key)
        forged["vouches"] = body["vouches"]
        with pytest.raises(SignatureRejected):
            peers.refresh_identity(s, peer, forged)
        # A document without the vouch withdraws it.
        peers.refresh_identity(s, peer, sign_document({**body, "vouches": []}, gt_key))
        s.commit()
        assert s.scalars(select(KnownKey)).all() == []
        assert peers.key_for(s)(far_fp) is None


def test_refresh_identity_refuses_another_nodes_document(sessions, operator, gt, tmp_path):
    with sessions() as s:
        peer = add(s, gt).peer
        s.commit()
        stranger = SigningKey.generate()
        body = {k: v for k, v in gt.identity().items() if k != "signature"}
        body["public_key"] = base64.b64encode(bytes(stranger.verify_key)).decode()
        with pytest.raises(SignatureRejected, match="compare the fingerprint"):
            peers.refresh_identity(s, peer, sign_document(body, stranger))
        with pytest.raises(InvalidInput, match="node-identity document"):
            peers.refresh_identity(s, peer, {"type": "something-else"})


def test_our_identity_vouches_for_pinned_peers(client, sessions, operator, gt):
    with sessions() as s:
        add(s, gt)
        s.commit()
    vouches = client.get("/federation/node").json()["vouches"]
    assert vouches == [
        {
            "name": "csirt-gt",
            "public_key": gt.identity()["public_key"],
            "fingerprint": gt.fingerprint,
        }
    ]


def test_record_contact(sessions, operator, gt):
    with sessions() as s:
        peer = add(s, gt).peer
        peers.record_contact(s, peer, error="connection refused")
        assert peer.last_error == "connection refused" and peer.last_contact_at is None
        peers.record_contact(s, peer)
        s.commit()
        assert peer.last_contact_at is not None and peer.last_error_at is not None


def test_remove_disables_the_account_and_a_second_add_brings_it_back(sessions, operator, gt):
    with sessions() as s:
        first = add(s, gt)
        s.commit()
        org_id = first.peer.org_id
        peers.remove_peer(s, None, "csirt-gt")
        s.commit()
        with pytest.raises(NotFound):
            peers.get_peer(s, "csirt-gt")
        with pytest.raises(Unauthenticated):
            TokenVerifier(0).verify(s, first.token.token)
        org = s.get(Organisation, org_id)
        assert org is not None and org.remote_node == "csirt-gt"  # what it sent stays owned
        second = add(s, gt)
        s.commit()
        assert second.peer.org_id == org_id
        assert TokenVerifier(0).verify(s, second.token.token).principal.user_name == "peer-csirt-gt"
        with pytest.raises(Unauthenticated):
            TokenVerifier(0).verify(s, first.token.token)
        with pytest.raises(NotFound):
            peers.remove_peer(s, None, "nobody")


def test_only_the_node_operator_manages_peers(sessions, operator, gt):
    member_admin = add_member(sessions, "Banco", role="admin")
    with sessions() as s:
        for actor in (member_admin.principal,):
            with pytest.raises(Forbidden):
                peers.add_peer(
                    s,
                    actor,
                    name=gt.name,
                    url=gt.url,
                    fingerprint_text=gt.fingerprint,
                    direction="both",
                    token_env="GT",
                    fetch=gt.fetch,
                )
        peers.add_peer(
            s,
            operator.principal,
            name=gt.name,
            url=gt.url,
            fingerprint_text=gt.fingerprint,
            direction="both",
            token_env="GT",
            fetch=gt.fetch,
        )
        with pytest.raises(Forbidden):
            peers.remove_peer(s, member_admin.principal, gt.name)
        peers.remove_peer(s, operator.principal, gt.name)


def test_remote_organisations_are_read_only(sessions, operator, gt):
    with sessions() as s:
        added = add(s, gt)
        s.commit()
        org_id = added.peer.org_id
        with pytest.raises(Forbidden, match="remote organisation"):
            accounts.create_user(s, None, org_id=org_id, name="someone", role="analyst")
        with pytest.raises(Forbidden, match="remote organisation"):
            accounts.create_user(s, operator.principal, org_id=org_id, name="x1", role="admin")
        with pytest.raises(Forbidden, match="remote organisation"):
            invitations.create_invitation(s, None, org_id=org_id, role="admin")
        peers.remove_peer(s, None, gt.name)
        s.commit()
        machine = s.scalar(select(User).where(User.name == "peer-csirt-gt"))
        assert machine is not None and not machine.active
        with pytest.raises(Forbidden, match="remote organisation"):
            accounts.set_user_active(s, None, machine.id, True)
        # Sharing groups name remote organisations like any other.
        group = accounts.create_group(
            s,
            None,
            name="GT and CR",
            owner_org_id=operator.org_id,
            member_org_ids=[org_id],
        )
        assert org_id in group.member_org_ids


def test_a_spoofed_identity_is_refused(sessions, operator, gt):
    from minga.federation.remote import ensure_remote_organisation

    with sessions() as s:
        local = s.get(Organisation, operator.org_id)
        assert local is not None
        with pytest.raises(SignatureRejected, match="of this node"):
            ensure_remote_organisation(
                s, node="csirt-gt", identity_ref=local.identity_ref, name="CSIRT CR"
            )
        org = ensure_remote_organisation(
            s, node="csirt-gt", identity_ref=None, name="CSIRT CR", country="??"
        )
        assert (org.name, org.country, org.sector) == ("CSIRT CR (csirt-gt)", "ZZ", "unknown")
        with pytest.raises(SignatureRejected, match="node csirt-gt"):
            ensure_remote_organisation(s, node="csirt-sv", identity_ref=org.identity_ref, name="x")
        assert s.scalar(select(PeerNode)) is None


def _gt_signing_key(gt: OtherNode) -> SigningKey:
    with gt.sessions() as g:
        return peers.ensure_key(g)


def test_status_counts_the_backlog_the_policy_lets_through(sessions, operator, gt):
    from minga.federation.status import statuses
    from minga.intel.models import objects
    from minga.intel.service import Provenance, create_objects
    from minga.policy import Reach, Tlp
    from tests.factories import indicator

    with sessions() as s:
        peer = add(s, gt).peer
        s.commit()
        gt_and_us = accounts.create_group(
            s, None, name="with GT", owner_org_id=operator.org_id, member_org_ids=[peer.org_id]
        ).id
        only_us = accounts.create_group(
            s, None, name="alone", owner_org_id=operator.org_id, member_org_ids=[]
        ).id
        me = operator.principal

        def publish(n: int, tlp: Tlp, reach: Reach, groups=(), **prov) -> None:
            create_objects(
                s,
                me,
                [indicator(n)],
                tlp=tlp,
                reach=reach,
                group_ids=groups,
                provenance=Provenance(**prov),
                enforce_creator=False,
            )

        # Before: only the operator's own identity (federation, CLEAR) is owed.
        assert statuses(s, None, "csirt-gt")[0].backlog == 1
        publish(1, Tlp.GREEN, Reach.FEDERATION)  # owed
        publish(2, Tlp.GREEN, Reach.CONNECTED)  # owed: one hop
        publish(3, Tlp.GREEN, Reach.COMMUNITY)  # stays here
        publish(4, Tlp.RED, Reach.FEDERATION)  # RED only to named recipients
        publish(5, Tlp.AMBER, Reach.FEDERATION, [gt_and_us])  # owed: GT is in the group
        publish(6, Tlp.AMBER, Reach.FEDERATION, [only_us])  # GT is not
        publish(7, Tlp.GREEN, Reach.FEDERATION, origin_node="csirt-gt", hop_count=1)  # its own
        publish(8, Tlp.GREEN, Reach.CONNECTED, origin_node="csirt-sv", hop_count=1)  # past reach
        s.commit()
        st = statuses(s, None, "csirt-gt")[0]
        assert (st.backlog, st.pinned, st.organisation) == (4, True, "CSIRT GT")
        peer.push_position = s.scalar(
            select(objects.c.added_us).order_by(objects.c.added_us.desc())
        )
        peer.direction = "both"
        s.commit()
        assert statuses(s, None)[0].backlog == 0
        peer.direction = "pull"
        assert statuses(s, None)[0].backlog is None
        s.rollback()
    member = add_member(sessions, "Banco", role="admin")
    with sessions() as s, pytest.raises(Forbidden):
        statuses(s, member.principal)


def test_public_url_defaults_to_host_and_port():
    from pydantic import ValidationError

    from minga.settings import Settings

    assert Settings(host="10.0.0.5", port=9000).public_url == "http://10.0.0.5:9000"
    assert Settings(public_url="https://minga.csirt.gt/").public_url == "https://minga.csirt.gt"
    with pytest.raises(ValidationError, match="MINGA_PUBLIC_URL"):
        Settings(public_url="minga.csirt.gt")


def test_a_peer_account_reads_only_its_own_organisations_objects(client, sessions, operator, gt):
    """`community` (and everything else) reaches a peer only through the federation collection,
    as `may_node_receive` decides: the ordinary read paths show a peer account nothing of ours."""
    with sessions() as s:
        added = add(s, gt)
        s.commit()
    peer_headers = {"Authorization": f"Bearer {added.token.token}"}
    member = add_member(sessions, "Local member")
    ids = []
    for n, (tlp, reach) in enumerate(
        [("green", "community"), ("clear", "federation"), ("green", "connected")]
    ):
        obj = malware(900 + n, name="peer-probe")
        r = client.post(f"/api/objects?tlp={tlp}&reach={reach}", json=obj, headers=member.headers)
        assert r.status_code in (200, 201), r.text
        ids.append(obj["id"])
    assert client.get("/api/objects?q=peer-probe", headers=member.headers).json()["objects"]
    assert client.get("/api/objects?q=peer-probe", headers=peer_headers).json()["objects"] == []
    for stix_id in ids:
        assert client.get(f"/api/objects/{stix_id}", headers=peer_headers).status_code == 404
    taxii = client.get(
        f"/taxii2/api/collections/{DEFAULT_COLLECTION_ID}/objects/?match[type]=malware",
        headers={**peer_headers, "Accept": "application/taxii+json;version=2.1"},
    )
    assert taxii.status_code == 200, taxii.text
    assert not set(ids) & {o["id"] for o in taxii.json().get("objects", [])}
