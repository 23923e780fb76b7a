"""In-process federation nodes for tests: each its own database and app, joined as peers by
writing the rows `minga peer add` writes (a remote organisation, a `peer-NAME` machine
account with a token, the pinned key). Push and pull talk to the peer's app through its
TestClient (an httpx client), so no port is opened."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.node import set_operator_org
from minga.app import create_app
from minga.db import make_engine, make_sessionmaker
from minga.federation import peers
from minga.federation.collection import collection_url, ensure_collection
from minga.federation.identity import identity_document
from minga.federation.keys import NodeIdentity, node_identity
from minga.federation.models import KnownKey, PeerNode
from minga.federation.pull import PullResult, pull_peer
from minga.federation.push import PushResult, push_peer
from minga.intel import service as intel
from minga.intel.models import objects
from minga.policy import Principal, Reach, Tlp
from minga.settings import Settings

URL = "http://testserver"


@dataclass
class LocalNode:
    name: str
    engine: Engine
    settings: Settings
    sessions: sessionmaker[Session]
    client: TestClient
    identity: NodeIdentity
    member: Principal  # an analyst of the operator organisation

    def publish(
        self,
        obj: dict[str, Any],
        *,
        tlp: Tlp = Tlp.GREEN,
        reach: Reach = Reach.FEDERATION,
        groups: Sequence[int] = (),
        by: Principal | None = None,
    ) -> None:
        with self.sessions() as s:
            intel.create_objects(
                s, by or self.member, [dict(obj)], tlp=tlp, reach=reach, group_ids=groups
            )
            s.commit()

    def count(self, stix_id: str | None = None) -> int:
        with self.sessions() as s:
            stmt = select(func.count()).select_from(objects)
            if stix_id:
                stmt = stmt.where(objects.c.stix_id == stix_id)
            return int(s.scalar(stmt) or 0)

    def peer(self, name: str) -> PeerNode:
        with self.sessions() as s:
            found = s.scalar(select(PeerNode).where(PeerNode.name == name))
            assert found is not None
            return found

    def push(self, to: LocalNode) -> PushResult:
        peer = self.peer(to.name)
        url = collection_url(URL)
        return push_peer(self.sessions, self.settings, peer.id, to.client, url)

    def pull(self, source: LocalNode, limit: int = 1000) -> PullResult:
        peer = self.peer(source.name)
        url = collection_url(URL)
        return pull_peer(self.sessions, self.settings, peer.id, source.client, url, limit=limit)

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.engine.dispose()


def start_node(name: str, db_url: str, country: str = "GT") -> LocalNode:
    settings = Settings(
        database_url=db_url,
        node_name=name,
        ingest_worker_seconds=0,
        taxii_pull_check_seconds=0,
        federation_sync_seconds=0,  # tests drive push and pull themselves
    )
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        org = accounts.create_organisation(
            s, None, name=f"CSIRT {name}", country=country, sector="government", kind="csirt"
        )
        set_operator_org(s, org.id)
        user = accounts.create_user(s, None, org_id=org.id, name=f"analyst-{name}", role="analyst")
        identity = node_identity(s, name=name, url=URL)
        ensure_collection(s)
        member = accounts.principal_for(s, user)
        s.commit()
    client = TestClient(create_app(settings, engine=engine))
    client.__enter__()
    return LocalNode(name, engine, settings, sessions, client, identity, member)


def sqlite_copy(template: Path, directory: Path) -> str:
    path = directory / f"{uuid.uuid4().hex[:8]}.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def connect(a: LocalNode, b: LocalNode, a_to_b: str = "both", b_to_a: str = "both") -> None:
    """Make `a` and `b` peers of each other with `peers.add_peer` (the identity document is
    handed over instead of fetched); each keeps the token the other issued in the
    environment variable its peer row names."""
    issued_on_a = _add(a, b, a_to_b)
    issued_on_b = _add(b, a, b_to_a)
    os.environ[a.peer(b.name).token_env] = issued_on_b
    os.environ[b.peer(a.name).token_env] = issued_on_a


def identity_of(node: LocalNode) -> dict[str, Any]:
    with node.sessions() as s:
        return identity_document(s, name=node.name, url=URL)


def _add(host: LocalNode, other: LocalNode, direction: str) -> str:
    document = identity_of(other)
    with host.sessions() as s:
        added = peers.add_peer(
            s,
            None,
            name=other.name,
            url=URL,
            fingerprint_text=other.identity.fingerprint,
            direction=direction,
            token_env=f"MINGA_TEST_TOKEN_{uuid.uuid4().hex[:8].upper()}",
            fetch=lambda _url: document,
        )
        s.commit()
        return added.token.token


def refresh_identity(host: LocalNode, peer: LocalNode) -> None:
    """`host` takes in `peer`'s current identity document (its vouches), as sync does."""
    document = identity_of(peer)
    with host.sessions() as s:
        found = peers.get_peer(s, peer.name)
        peers.refresh_identity(s, found, document)
        s.commit()


def vouch(host: LocalNode, via: LocalNode, origin: LocalNode) -> None:
    """On `host`: `via` (a pinned peer) vouches for `origin`'s key. Its node identity says so
    once it is `origin`'s peer (taken in here); otherwise the vouch is written directly."""
    refresh_identity(host, via)
    with host.sessions() as s:
        if s.get(KnownKey, origin.identity.fingerprint) is None:
            s.add(
                KnownKey(
                    fingerprint=origin.identity.fingerprint,
                    node_name=origin.name,
                    public_key=origin.identity.public_key_b64,
                    vouched_by_peer_id=peers.get_peer(s, via.name).id,
                    updated_at=datetime.now(UTC),
                )
            )
        s.commit()
