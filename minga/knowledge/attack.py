"""MITRE ATT&CK Enterprise, ICS and Mobile: the STIX bundles (2.0 or 2.1), a directory of
per-object files, or a URL. Objects are stored as the node's; techniques and tactics become
look-up entries; each domain's release is recorded."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.ingest import stixfile
from minga.knowledge.documents import Document
from minga.knowledge.store import Loaded, record_release, store_objects, upsert_entries

DOMAINS = {"enterprise-attack": "attack-enterprise", "ics-attack": "attack-ics",
           "mobile-attack": "attack-mobile"}  # fmt: skip
KILL_CHAINS = {"mitre-attack": "enterprise-attack", "mitre-ics-attack": "ics-attack",
               "mitre-mobile-attack": "mobile-attack"}  # fmt: skip
BASE_URL = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master"
DEFAULT_URLS = [f"{BASE_URL}/{d}/{d}.json" for d in DOMAINS]
NAME_RELEASE = re.compile(r"(enterprise|ics|mobile)-attack-(\d+(?:\.\d+)*)")


def attack_id(obj: dict[str, Any]) -> str | None:
    """The ATT&CK id (T1566.002, TA0001, G0007, ...) of an object, if any."""
    for ref in obj.get("external_references") or ():
        if isinstance(ref, dict) and ref.get("source_name") in ("mitre-attack", "mitre-ics-attack",
                                                                "mitre-mobile-attack"):  # fmt: skip
            value = ref.get("external_id")
            return value if isinstance(value, str) else None
    return None


def _url_of(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("external_references") or ():
        if isinstance(ref, dict) and ref.get("external_id") and ref.get("url"):
            return str(ref["url"])
    return None


def read_objects(documents: Iterable[Document]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """STIX 2.1 objects of every ATT&CK document, and release hints from file names."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    hints: dict[str, str] = {}
    for doc in documents:
        if doc.kind != "attack":
            continue
        found = NAME_RELEASE.search(doc.name.rsplit("/", 1)[-1])
        if found:
            hints[f"{found.group(1)}-attack"] = found.group(2)
        items, version = stixfile.objects_of(doc.content)
        for obj in items:
            if not isinstance(obj, dict):
                raise InvalidInput(f"{doc.name} holds an object that is not a JSON object")
            upgraded = stixfile.upgrade_object(obj) if stixfile.is_stix20(obj, version) else [obj]
            for each in upgraded:
                key = (str(each.get("id")), str(each.get("modified")))
                if key not in seen:
                    seen.add(key)
                    out.append(each)
    return out, hints


def _domain(obj: dict[str, Any]) -> str | None:
    for phase in obj.get("kill_chain_phases") or ():
        if isinstance(phase, dict) and phase.get("kill_chain_name") in KILL_CHAINS:
            return KILL_CHAINS[phase["kill_chain_name"]]
    domains = obj.get("x_mitre_domains")
    if isinstance(domains, list) and domains and domains[0] in DOMAINS:
        return str(domains[0])
    return None


def _releases(
    objs: list[dict[str, Any]], hints: dict[str, str], domains: set[str]
) -> dict[str, str]:
    """Each domain's release: its x-mitre-collection's version, else the file name's, else the
    date of its newest object."""
    found: dict[str, str] = {}
    for obj in objs:
        if obj.get("type") == "x-mitre-collection" and obj.get("x_mitre_version"):
            name = str(obj.get("name", "")).lower()
            for domain in DOMAINS:
                if domain.split("-")[0] in name:
                    found[domain] = str(obj["x_mitre_version"])
    newest: dict[str, str] = {}
    for obj in objs:
        of = _domain(obj)
        if of and str(obj.get("modified", "")) > newest.get(of, ""):
            newest[of] = str(obj["modified"])
    return {d: found.get(d) or hints.get(d) or f"as of {newest.get(d, '')[:10]}" for d in domains}


def entries_of(
    objs: list[dict[str, Any]],
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Look-up entries of the tactics and techniques, by ATT&CK id."""
    order: dict[str, int] = {}
    for obj in objs:
        if obj.get("type") == "x-mitre-matrix":
            for n, ref in enumerate(obj.get("tactic_refs") or ()):
                order.setdefault(str(ref), n)
    tactics: dict[str, dict[str, Any]] = {}
    by_short: dict[tuple[str, str], dict[str, str]] = {}
    for obj in objs:
        tid = attack_id(obj)
        if obj.get("type") != "x-mitre-tactic" or not tid:
            continue
        domain = _domain(obj) or "enterprise-attack"
        short = str(obj.get("x_mitre_shortname", ""))
        tactics[tid] = {
            "name": obj.get("name"), "stix_id": obj["id"],
            "data": {"shortname": short, "domain": domain, "order": order.get(obj["id"], 99),
                     "url": _url_of(obj)},
        }  # fmt: skip
        by_short[(domain, short)] = {"id": tid, "name": str(obj.get("name")), "shortname": short}
    techniques: dict[str, dict[str, Any]] = {}
    for obj in objs:
        tid = attack_id(obj)
        if obj.get("type") != "attack-pattern" or not tid:
            continue
        gone = bool(obj.get("revoked")) or bool(obj.get("x_mitre_deprecated"))
        if tid in techniques and gone:
            continue  # a current object with this id wins over a revoked or deprecated one
        domain = _domain(obj) or "enterprise-attack"
        phases = [
            p.get("phase_name") for p in obj.get("kill_chain_phases") or () if isinstance(p, dict)
        ]
        techniques[tid] = {
            "name": obj.get("name"), "stix_id": obj["id"],
            "data": {
                "domain": domain, "url": _url_of(obj), "revoked": bool(obj.get("revoked")),
                "deprecated": bool(obj.get("x_mitre_deprecated")),
                "subtechnique": "." in tid,
                "tactics": [by_short.get((domain, str(p)), {"id": "", "name": str(p),
                                                            "shortname": str(p)})
                            for p in phases],
            },
        }  # fmt: skip
    return tactics, techniques


def load_attack(session: Session, documents: Iterable[Document], location: str) -> Loaded:
    """Store every ATT&CK object found and index its tactics and techniques."""
    objs, hints = read_objects(documents)
    if not objs:
        raise InvalidInput(f"no ATT&CK STIX objects in {location}")
    tactics, techniques = entries_of(objs)
    domains = {v["data"]["domain"] for v in [*tactics.values(), *techniques.values()]}
    if not domains:
        raise InvalidInput(f"{location} holds STIX objects but no ATT&CK tactic or technique")
    releases = _releases(objs, hints, domains)
    said = ", ".join(f"{d.split('-')[0]} {releases[d]}" for d in sorted(domains))
    outcome = Loaded("attack", said, objects=len(objs))
    store_objects(session, objs, outcome, f"MITRE ATT&CK ({said})")
    outcome.entries = upsert_entries(session, "tactic", tactics)
    outcome.entries += upsert_entries(session, "technique", techniques)
    for domain in sorted(domains):
        mine = sum(1 for v in techniques.values() if v["data"]["domain"] == domain)
        per = Loaded(DOMAINS[domain], releases[domain], entries=mine, created=outcome.created)
        record_release(session, per, location)
    return outcome
