"""The ATT&CK matrix of what the node's intelligence covers, and its export as an ATT&CK
Navigator layer (layer format 4.5)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.intel.stix import ID_RE
from minga.knowledge import service
from minga.knowledge.attack import DOMAINS
from minga.knowledge.models import Release
from minga.policy import Principal

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"


def check(domain: str, scope: str | None) -> None:
    if domain not in DOMAINS:
        raise InvalidInput(f"unknown ATT&CK domain {domain!r}: use {', '.join(DOMAINS)}")
    if scope and not ID_RE.match(scope):
        raise InvalidInput(f"{scope!r} is not a STIX id (type--uuid)")


def covered_matrix(
    session: Session, principal: Principal, domain: str, scope: str | None = None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The domain's tactics with their techniques, and how many objects cover each technique."""
    check(domain, scope)
    counts = service.coverage(session, principal, scope)
    return service.matrix(session, domain), dict(counts)


def navigator_layer(
    session: Session, principal: Principal, domain: str, scope: str | None = None
) -> dict[str, Any]:
    """An ATT&CK Navigator layer scoring each technique by the objects that cover it."""
    columns, counts = covered_matrix(session, principal, domain, scope)
    release = session.get(Release, DOMAINS[domain])
    attack_version = (
        release.release.split(".")[0] if release and release.release[:1].isdigit() else ""
    )
    techniques = [
        {
            "techniqueID": t.id,
            "tactic": column["shortname"],
            "score": counts[t.id],
            "comment": f"{counts[t.id]} objects refer to it",
            "enabled": True,
            "showSubtechniques": "." in t.id,
        }
        for column in columns
        for t in column["techniques"]
        if counts.get(t.id)
    ]
    versions = {"navigator": NAVIGATOR_VERSION, "layer": LAYER_VERSION}
    if attack_version:
        versions["attack"] = attack_version
    return {
        "name": "Minga coverage" + (f" of {scope}" if scope else ""),
        "versions": versions,
        "domain": domain,
        "description": "Techniques the intelligence you may see on this node refers to; "
        "the score is the number of objects.",
        "techniques": techniques,
        "gradient": {
            "colors": ["#ffffff", "#ff6666"],
            "minValue": 0,
            "maxValue": max(counts.values(), default=1),
        },
        "legendItems": [],
        "metadata": [],
        "sorting": 3,
        "hideDisabled": False,
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
    }
