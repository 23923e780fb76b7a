"""CSAF 2.0 documents (OASIS Common Security Advisory Framework) of the `csaf_security_advisory`
profile (§4.5) for public advisories about vulnerabilities: product tree, vulnerabilities with
their product status and remediations, the revision history of every publication."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from minga import __version__
from minga.advisories.content import cves_of
from minga.advisories.models import Advisory, AdvisoryRevision
from minga.advisories.service import WITHDRAWN, loads

SCHEMA_URL = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"
TLP_URL = "https://www.first.org/tlp/"
# CSAF 2.0 names TLP 1.0 labels; TLP 2.0 CLEAR is the former WHITE.
TLP_LABEL = "WHITE"
LANG_ORDER = ("en", "es", "pt")


def has_csaf(advisory: Advisory) -> bool:
    """Is it a public advisory about vulnerabilities, with what a CSAF document needs
    (affected products and at least one vulnerability)?"""
    return advisory.status != "draft" and advisory.csaf


def filename(tracking_id: str) -> str:
    """§5.1: the tracking id in lower case, every other character than + - a-z 0-9 as `_`."""
    return re.sub(r"[^+\-a-z0-9]", "_", tracking_id.lower()) + ".json"


def year_of(advisory: Advisory) -> int:
    """The folder year (§7.1.11): that of the initial release."""
    assert advisory.published_at is not None
    return advisory.published_at.year


def when(value: datetime) -> str:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def language(body: dict[str, Any]) -> str:
    """One language per CSAF document: English if written in it, else the first written."""
    return next((lang for lang in LANG_ORDER if lang in body["texts"]), next(iter(body["texts"])))


def document(
    advisory: Advisory,
    revisions: list[AdvisoryRevision],
    *,
    publisher: str,
    namespace: str,
    url: str,
) -> dict[str, Any]:
    """The CSAF document of an advisory as it stands now (its newest revision)."""
    body = loads(advisory)
    lang = language(body)
    text = body["texts"][lang]
    products = [
        {
            "name": f"{p['vendor']} {p['product']} {p['versions']}",
            "product_id": f"CSAFPID-{i + 1:04d}",
        }
        for i, p in enumerate(body["products"])
    ]
    pids = [p["product_id"] for p in products]
    notes = [
        {"category": "summary", "title": "Summary", "text": text["summary"]},
        {"category": "general", "title": "What to do", "text": text["what_to_do"]},
    ]
    if advisory.status == WITHDRAWN:
        notes.append(
            {
                "category": "general",
                "title": "Withdrawn",
                "text": f"This advisory was withdrawn: {advisory.withdrawn_reason}",
            }
        )
    references = [
        {"category": "self", "summary": f"This advisory ({advisory.tracking_id})", "url": url}
    ] + [{"category": "external", "summary": "Reference", "url": ref} for ref in body["references"]]
    assert advisory.published_at is not None
    history = [
        {"date": when(r.at), "number": str(r.number), "summary": r.summary} for r in revisions
    ]
    vulnerabilities = [
        {
            "cve": cve,
            "notes": [{"category": "description", "title": "Summary", "text": text["summary"]}],
            "product_status": {"known_affected": pids},
            "remediations": [
                {"category": "mitigation", "details": text["what_to_do"], "product_ids": pids}
            ],
            "threats": [{"category": "impact", "details": f"Severity: {advisory.severity}"}],
        }
        for cve in cves_of(body)
    ]
    return {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "aggregate_severity": {"text": advisory.severity},
            "distribution": {"tlp": {"label": TLP_LABEL, "url": TLP_URL}},
            "lang": lang,
            "notes": notes,
            "publisher": {"category": "coordinator", "name": publisher, "namespace": namespace},
            "references": references,
            "title": text["title"],
            "tracking": {
                "current_release_date": when(advisory.updated_at),
                "generator": {"engine": {"name": "Minga", "version": __version__}},
                "id": advisory.tracking_id,
                "initial_release_date": when(advisory.published_at),
                "revision_history": history,
                "status": "final",
                "version": str(advisory.revision),
            },
        },
        "product_tree": {"full_product_names": products},
        "vulnerabilities": vulnerabilities,
    }
