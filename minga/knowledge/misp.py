"""MISP taxonomies (machinetag.json) and galaxy clusters (clusters/*.json), from their
repositories: look-up entries for tags and cluster names (they are vocabularies, not
intelligence, so no STIX objects are made)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.knowledge.documents import Document
from minga.knowledge.store import Loaded, record_release, upsert_entries


def _tags(taxonomy: dict[str, Any]) -> list[str]:
    namespace = taxonomy["namespace"]
    tags: list[str] = []
    listed = {v.get("predicate") for v in taxonomy.get("values") or () if isinstance(v, dict)}
    for predicate in taxonomy.get("predicates") or ():
        if isinstance(predicate, dict) and predicate.get("value") not in listed:
            tags.append(f"{namespace}:{predicate.get('value')}")
    for value in taxonomy.get("values") or ():
        if not isinstance(value, dict):
            continue
        for entry in value.get("entry") or ():
            if isinstance(entry, dict):
                tags.append(f'{namespace}:{value.get("predicate")}="{entry.get("value")}"')
    return tags


def load_misp(session: Session, documents: Iterable[Document], location: str) -> list[Loaded]:
    taxonomies: dict[str, dict[str, Any]] = {}
    clusters: dict[str, dict[str, Any]] = {}
    for doc in documents:
        content = doc.content
        if doc.kind == "taxonomy" and isinstance(content.get("namespace"), str):
            taxonomies[content["namespace"]] = {
                "name": content.get("description") or content["namespace"],
                "data": {"version": content.get("version"), "tags": _tags(content)},
            }
        elif doc.kind == "galaxy":
            kind = str(content.get("type"))
            for value in content.get("values") or ():
                if isinstance(value, dict) and isinstance(value.get("value"), str):
                    meta = value.get("meta") if isinstance(value.get("meta"), dict) else {}
                    clusters[f"{kind}:{value['value']}"] = {
                        "name": value["value"],
                        "data": {
                            "galaxy": content.get("name"), "type": kind,
                            "uuid": value.get("uuid"),
                            "description": str(value.get("description") or "")[:2000],
                            "synonyms": (meta or {}).get("synonyms") or [],
                            "version": content.get("version"),
                        },
                    }  # fmt: skip
    if not taxonomies and not clusters:
        raise InvalidInput(f"no MISP taxonomy (machinetag.json) or galaxy cluster in {location}")
    done: list[Loaded] = []
    if taxonomies:
        tags = sum(len(t["data"]["tags"]) for t in taxonomies.values())
        outcome = Loaded("misp-taxonomies", f"{len(taxonomies)} taxonomies, {tags} tags")
        outcome.entries = upsert_entries(session, "taxonomy", taxonomies)
        record_release(session, outcome, location)
        done.append(outcome)
    if clusters:
        galaxies = len({c["data"]["type"] for c in clusters.values()})
        outcome = Loaded("misp-galaxies", f"{galaxies} galaxies, {len(clusters)} clusters")
        outcome.entries = upsert_entries(session, "galaxy-cluster", clusters)
        record_release(session, outcome, location)
        done.append(outcome)
    return done
