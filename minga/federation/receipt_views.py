"""REST of recall receipts: peers deliver them, people read an object's tally.

- `POST /federation/receipts` (a peer node's machine-account token): `{"receipts": [{"receipt":
  <signed receipt>, "public_key": <the signer's key, vouched for by the sender>}]}`; the answer
  lists each receipt's outcome (stored, forwarded, duplicate or rejected with the reason).
- `GET /api/objects/{id}/receipts`: "received by N nodes, recalled at M of N" and the nodes, for
  anyone who may see the object (receipts are kept by the object's origin node only).

While the node serves, the drain loop sends queued receipts (`MINGA_FEDERATION_RECEIPTS_SECONDS`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool

from minga.api.deps import CurrentPrincipal, NodeDep, SessionDep
from minga.errors import Forbidden, InvalidInput
from minga.federation import peers, receipt_accept, receipt_tally
from minga.federation.keys import node_identity
from minga.federation.receipt_drain import Drain, ReceiptLoop
from minga.intel import service as intel


@asynccontextmanager
async def receipt_loop(app: FastAPI) -> AsyncIterator[None]:
    node = app.state.node
    seconds = node.settings.federation_receipts_seconds
    loop = ReceiptLoop(Drain(node.sessions, node.settings.node_name), seconds) if seconds else None
    with loop or nullcontext():
        yield


router = APIRouter(lifespan=receipt_loop, tags=["federation"])

RECEIPTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["receipts"],
                    "properties": {
                        "receipts": {
                            "type": "array",
                            "maxItems": receipt_accept.MAX_PER_REQUEST,
                            "items": {
                                "type": "object",
                                "properties": {
                                    "receipt": {"type": "object"},
                                    "public_key": {"type": "string"},
                                },
                            },
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/federation/receipts",
    summary="Deliver signed recall receipts (a peer node's machine account)",
    openapi_extra=RECEIPTS_BODY,
)
async def deliver_receipts(
    request: Request, session: SessionDep, principal: CurrentPrincipal, node: NodeDep
) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    items = receipt_accept.parse_batch(body)

    def accept() -> dict[str, Any]:  # database work off the event loop
        sender = peers.peer_for_user(session, principal.user_id)
        if sender is None:
            raise Forbidden("only a peer node's machine account may deliver receipts")
        me = node_identity(session, name=node.settings.node_name, url="")
        done = receipt_accept.accept(
            session, sender, items, node=me, key_for=peers.key_for(session)
        )
        session.commit()
        return {
            "stored": done.count("stored"),
            "forwarded": done.count("forwarded"),
            "duplicate": done.count("duplicate"),
            "rejected": done.count("rejected"),
            "results": [r.as_dict() for r in done.results],
        }

    return await run_in_threadpool(accept)


@router.get(
    "/api/objects/{stix_id}/receipts",
    summary="Which nodes confirmed receiving an object, and its recall",
)
def object_receipts(
    stix_id: str, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    item = intel.get_object(session, principal, stix_id)  # the policy decides who may ask
    return {
        "object": stix_id,
        "origin_node": item.origin_node,
        **receipt_tally.summary(session, stix_id).as_dict(),
    }
