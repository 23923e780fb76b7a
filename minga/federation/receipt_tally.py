"""What the origin shows of its receipts: "received by N nodes, recalled at M of N".

Nodes are counted by the key that signed their receipts (its fingerprint): a node that renamed
itself is still one node; each node's first "received" and its "recalled" receipt are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from minga.federation.receipt_models import Receipt


@dataclass(frozen=True, slots=True)
class NodeReceipt:
    """What one receiving node confirmed about an object."""

    node: str
    fingerprint: str
    received_at: str | None  # its first "received" receipt (signed time)
    recalled_at: str | None  # its "recalled" receipt, once it stopped serving the object
    versions: tuple[str, ...]  # the versions it confirmed
    key_vouched: bool


@dataclass(frozen=True, slots=True)
class Summary:
    received: int  # distinct nodes that confirmed any version (or its recall)
    recalled: int  # distinct nodes that confirmed the recall
    nodes: tuple[NodeReceipt, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "recalled": self.recalled,
            "nodes": [
                {
                    "node": n.node,
                    "fingerprint": n.fingerprint,
                    "received_at": n.received_at,
                    "recalled_at": n.recalled_at,
                    "versions": list(n.versions),
                    "key_vouched": n.key_vouched,
                }
                for n in self.nodes
            ],
        }


def summary(session: Session, stix_id: str) -> Summary:
    """ "Received by N nodes, recalled at M of N" for an object, counting distinct node keys."""
    rows = session.scalars(
        select(Receipt).where(Receipt.stix_id == stix_id).order_by(Receipt.signed_at, Receipt.id)
    ).all()
    by_node: dict[str, list[Receipt]] = {}
    for row in rows:
        by_node.setdefault(row.fingerprint, []).append(row)
    nodes = []
    for fp, held in by_node.items():
        got = [r.signed_at for r in held if r.state == "received"]
        gone = [r.signed_at for r in held if r.state == "recalled"]
        nodes.append(
            NodeReceipt(
                node=held[-1].node_name,
                fingerprint=fp,
                received_at=got[0] if got else None,
                recalled_at=gone[0] if gone else None,
                versions=tuple(sorted({r.modified for r in held})),
                key_vouched=all(r.key_vouched for r in held),
            )
        )
    nodes.sort(key=lambda n: (n.node, n.fingerprint))
    recalled = sum(1 for n in nodes if n.recalled_at is not None)
    return Summary(received=len(nodes), recalled=recalled, nodes=tuple(nodes))


def counts(session: Session, stix_id: str) -> tuple[int, int]:
    """(received, recalled) as `summary` counts them, in one aggregate query: the REST get of a
    local object asks this on every call, so it must not load the receipt rows."""
    recalled = case((Receipt.state == "recalled", Receipt.fingerprint))
    got = session.execute(
        select(func.count(distinct(Receipt.fingerprint)), func.count(distinct(recalled))).where(
            Receipt.stix_id == stix_id
        )
    ).one()
    return int(got[0]), int(got[1])
