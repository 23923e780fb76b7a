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
from minga.accounts.models import Organisation
from minga.accounts.node import set_operator_org
from minga.app import create_app
from minga.db import make_engine, make_sessionmaker
from minga.federation.collection import collection_url, ensure_collection
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
    """Make `a` and `b` peers of each other: on each, the other's organisation, its machine
    account, and a peer row whose token variable holds the token the other node issued."""
    token_on_b, token_on_a = _account_on(b, a), _account_on(a, b)
    _peer_row(a, b, a_to_b, token_on_b)
    _peer_row(b, a, b_to_a, token_on_a)


def _peer_row(host: LocalNode, other: LocalNode, direction: str, token: str) -> None:
    env = f"MINGA_TEST_TOKEN_{uuid.uuid4().hex[:8].upper()}"
    os.environ[env] = token
    with host.sessions() as s:
        org = s.scalar(select(Organisation).where(Organisation.remote_node == other.name))
        assert org is not None
        s.add(
            PeerNode(
                name=other.name,
                url=URL,
                fingerprint=other.identity.fingerprint,
                public_key=other.identity.public_key_b64,
                direction=direction,
                token_env=env,
                org_id=org.id,
                created_at=datetime.now(UTC),
                push_position=0,
                sent=0,
                received=0,
                rejected=0,
            )
        )
        s.commit()


def _account_on(host: LocalNode, guest: LocalNode) -> str:
    """On `host`: the organisation standing for node `guest` and its machine account."""
    with host.sessions() as s:
        org = s.scalar(select(Organisation).where(Organisation.remote_node == guest.name))
        if org is None:
            org = Organisation(
                name=f"node {guest.name}",
                country="ZZ",
                sector="government",
                kind="csirt",
                identity_ref=guest.member.identity_ref,  # the guest's operator organisation
                created_at=datetime.now(UTC),
                remote_node=guest.name,
            )
            s.add(org)
            s.flush()
        user = accounts.create_user(
            s, None, org_id=org.id, name=f"peer-{guest.name}", role="machine"
        )
        _, issued = accounts.issue_token(s, None, user_id=user.id)
        s.commit()
        return issued.token


def vouch(host: LocalNode, via: LocalNode, origin: LocalNode) -> None:
    """On `host`: `via` (a pinned peer) vouches for `origin`'s key, as its signed node identity
    does, so versions made at `origin` verify on `host` although it is not a direct peer."""
    peer = host.peer(via.name)
    with host.sessions() as s:
        s.add(
            KnownKey(
                fingerprint=origin.identity.fingerprint,
                node_name=origin.name,
                public_key=origin.identity.public_key_b64,
                vouched_by_peer_id=peer.id,
                updated_at=datetime.now(UTC),
            )
        )
        s.commit()
