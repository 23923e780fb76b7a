"""REST of the federation domain: this node's signed identity (`GET /federation/node`, no
sign-in: peers fetch it to pin the key) and peer management (`/api/peers`, node operator)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from minga.api.deps import NodeDep, SessionDep
from minga.federation.identity import PATH, identity_document

router = APIRouter(tags=["federation"])


@router.get(PATH, summary="This node's signed identity document")
def node_identity(session: SessionDep, node: NodeDep) -> dict[str, Any]:
    settings = node.settings
    doc = identity_document(session, name=settings.node_name, url=settings.public_url)
    session.commit()  # the node key is made on first use when `minga init` did not run
    return doc
