"""REST of the federation domain: this node's signed identity (`GET /federation/node`, no
sign-in: peers fetch it to pin the key) and peer management (`/api/peers`, node operator)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from minga.api.deps import CurrentPrincipal, NodeDep, SessionDep, UtcDatetime
from minga.federation import peers, status
from minga.federation.identity import PATH, fetch_identity, identity_document

router = APIRouter(tags=["federation"])

PeerName = Annotated[str, Path(max_length=100, description="the peer's node name")]


class PeerIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="the peer's own node name")
    url: str = Field(min_length=1, max_length=500, description="e.g. https://minga.csirt.gt")
    fingerprint: str = Field(
        min_length=1, max_length=200, description="its key fingerprint, as read out by phone"
    )
    direction: str = Field(default="both", description="pull, push or both")
    token_env: str = Field(
        min_length=1,
        max_length=120,
        description="environment variable (on this node) holding the token the peer gave",
    )
    country: str | None = Field(default=None, max_length=2, description="if the peer says none")
    sector: str | None = Field(default=None, max_length=64, description="if the peer says none")


class PeerOut(BaseModel):
    name: str
    url: str
    direction: str
    fingerprint: str
    pinned: bool = Field(description="its key was seen and matches the fingerprint")
    token_env: str
    organisation: str = Field(description="the remote organisation standing for the peer")
    created_at: UtcDatetime
    last_contact_at: UtcDatetime | None
    last_error: str | None
    last_error_at: UtcDatetime | None
    pull_cursor: str | None
    push_position: int
    backlog: int | None = Field(description="versions push still owes it (null: not pushed to)")
    sent: int
    received: int
    rejected: int
    vouched_keys: int


class AddedPeerOut(PeerOut):
    machine_account: str
    token: str = Field(description="for the peer's machine account here; shown once")


@router.get(PATH, summary="This node's signed identity document")
def node_identity(session: SessionDep, node: NodeDep) -> dict[str, Any]:
    settings = node.settings
    doc = identity_document(session, name=settings.node_name, url=settings.public_url)
    session.commit()  # the node key is made on first use when `minga init` did not run
    return doc


@router.get("/api/peers", response_model=list[PeerOut])
def list_peers(session: SessionDep, principal: CurrentPrincipal) -> list[PeerOut]:
    return [PeerOut(**asdict(st)) for st in status.statuses(session, principal)]


@router.post("/api/peers", response_model=AddedPeerOut, status_code=201)
def add_peer(body: PeerIn, session: SessionDep, principal: CurrentPrincipal) -> AddedPeerOut:
    added = peers.add_peer(
        session,
        principal,
        name=body.name,
        url=body.url,
        fingerprint_text=body.fingerprint,
        direction=body.direction,
        token_env=body.token_env,
        country=body.country,
        sector=body.sector,
        fetch=fetch_identity,
    )
    out = asdict(status.peer_status(session, added.peer))
    session.commit()
    return AddedPeerOut(**out, machine_account=added.machine_account, token=added.token.token)


@router.get("/api/peers/{name}", response_model=PeerOut)
def peer_status(name: PeerName, session: SessionDep, principal: CurrentPrincipal) -> PeerOut:
    return PeerOut(**asdict(status.statuses(session, principal, name)[0]))


@router.delete("/api/peers/{name}")
def remove_peer(name: PeerName, session: SessionDep, principal: CurrentPrincipal) -> dict[str, str]:
    peers.remove_peer(session, principal, name)
    session.commit()
    return {"removed": name}
