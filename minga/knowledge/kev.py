"""The CISA Known Exploited Vulnerabilities catalogue (JSON) as STIX vulnerabilities.

Each entry becomes a `vulnerability` named by its CVE, with a stable id (UUIDv5 of the CVE) and
the catalogue's facts in `x_cisa_kev`; created by a CISA identity. An entry that did not change
keeps its version, so re-loading the same catalogue stores nothing; a changed entry gets a new
version dated by the catalogue's release.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.intel.stix import TS_RE, ts_to_us, us_to_ts
from minga.knowledge.documents import Document
from minga.knowledge.models import Entry
from minga.knowledge.store import Loaded, record_release, store_objects, upsert_entries

DEFAULT_URLS = [
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
]
CATALOGUE_URL = "https://www.cisa.gov/known-exploited-vulnerabilities-catalog"
KEV_NS = uuid.UUID("0b6f4d1e-5a7c-4c8e-9f3a-2d1b0c9e8a7f")
CISA_ID = f"identity--{uuid.uuid5(KEV_NS, 'CISA')}"
CISA_CREATED = "2021-11-03T00:00:00.000Z"  # the catalogue's first release (BOD 22-01)
CVE_RE = re.compile(r"CVE-\d{4}-\d{4,}\Z")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
FIELDS = {  # catalogue field -> x_cisa_kev key
    "vendorProject": "vendor_project", "product": "product",
    "vulnerabilityName": "vulnerability_name", "dateAdded": "date_added",
    "requiredAction": "required_action", "dueDate": "due_date",
    "knownRansomwareCampaignUse": "known_ransomware_campaign_use", "notes": "notes",
    "cwes": "cwes",
}  # fmt: skip


def stix_id(cve: str) -> str:
    return f"vulnerability--{uuid.uuid5(KEV_NS, cve)}"


def _ts(value: Any) -> str | None:
    """A catalogue timestamp as a STIX one (milliseconds), None if it is not one."""
    if not isinstance(value, str):
        return None
    if DATE_RE.match(value):
        return f"{value}T00:00:00.000Z"
    head, _, frac = value.rstrip("Z").partition(".")
    candidate = f"{head}.{(frac + '000')[:3]}Z"
    return candidate if TS_RE.match(candidate) else None


def _catalogue(documents: Iterable[Document], location: str) -> dict[str, Any]:
    found = [d.content for d in documents if d.kind == "kev"]
    if not found:
        raise InvalidInput(f"no KEV catalogue (catalogVersion, vulnerabilities) in {location}")
    latest: dict[str, Any] = max(found, key=lambda c: str(c.get("dateReleased", "")))
    if not isinstance(latest.get("vulnerabilities"), list):
        raise InvalidInput("the KEV catalogue's vulnerabilities must be a list")
    return latest


def load_kev(session: Session, documents: Iterable[Document], location: str) -> Loaded:
    catalogue = _catalogue(documents, location)
    released = _ts(catalogue.get("dateReleased")) or ""
    outcome = Loaded("kev", str(catalogue.get("catalogVersion", "?")))
    entries: dict[str, dict[str, Any]] = {}
    facts: dict[str, dict[str, Any]] = {}
    described: dict[str, str] = {}
    for item in catalogue["vulnerabilities"]:
        cve = item.get("cveID") if isinstance(item, dict) else None
        added = _ts(item.get("dateAdded")) if isinstance(item, dict) else None
        if not isinstance(cve, str) or not CVE_RE.match(cve.strip()) or added is None:
            outcome.refused_count += 1
            outcome.refused.append({"id": str(cve), "reason": "needs a cveID and a dateAdded"})
            continue
        cve = cve.strip()
        facts[cve] = {key: item[field] for field, key in FIELDS.items() if field in item}
        facts[cve]["created"] = added
        described[cve] = str(item.get("shortDescription") or "")
    previous = _previous(session, list(facts))
    objs: list[dict[str, Any]] = [_cisa()] if facts else []
    for cve, fact in facts.items():
        created = fact.pop("created")
        before = previous.get(cve)
        if before is None:
            modified = created
        elif before["kev"] == fact:
            modified = before["modified"]
        else:  # changed: a new version, after the one stored
            floor = ts_to_us(before["modified"]) + 1000
            modified = max(released, us_to_ts(floor)) if released else us_to_ts(floor)
        objs.append(_vulnerability(cve, fact, created, modified, described[cve]))
        entries[cve] = {
            "name": fact.get("vulnerability_name") or cve,
            "stix_id": stix_id(cve),
            "data": {"kev": fact, "modified": modified},
        }
    outcome.objects = len(objs)
    store_objects(session, objs, outcome, f"CISA KEV {outcome.release}")
    outcome.entries = upsert_entries(session, "kev", entries)
    record_release(session, outcome, location)
    return outcome


def _previous(session: Session, cves: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(cves), 500):
        stmt = select(Entry.key, Entry.data).where(
            Entry.kind == "kev", Entry.key.in_(cves[start : start + 500])
        )
        out.update({key: orjson.loads(data) for key, data in session.execute(stmt)})
    return out


def _cisa() -> dict[str, Any]:
    return {
        "type": "identity", "spec_version": "2.1", "id": CISA_ID,
        "created": CISA_CREATED, "modified": CISA_CREATED,
        "name": "Cybersecurity and Infrastructure Security Agency (CISA)",
        "identity_class": "organization", "sectors": ["government"],
    }  # fmt: skip


def _vulnerability(
    cve: str, fact: dict[str, Any], created: str, modified: str, description: str
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "vulnerability", "spec_version": "2.1", "id": stix_id(cve),
        "created": created, "modified": max(created, modified), "created_by_ref": CISA_ID,
        "name": cve,
        "external_references": [
            {"source_name": "cve", "external_id": cve},
            {"source_name": "cisa-kev", "url": CATALOGUE_URL,
             "description": str(fact.get("vulnerability_name", ""))},
        ],
        "x_cisa_kev": fact,
    }  # fmt: skip
    if description:
        obj["description"] = description
    return obj
