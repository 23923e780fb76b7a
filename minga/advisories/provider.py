"""The node as a CSAF 2.0 trusted provider (§7.1, §7.2.1): `provider-metadata.json`, one folder
per year under `white/` with each document's `.sha256`, `.sha512` and OpenPGP `.asc`,
`index.txt`, `changes.csv` and a ROLIE feed, so aggregators and CSAF tools can mirror it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.advisories import csaf, openpgp
from minga.advisories.models import Advisory
from minga.advisories.service import PUBLIC, revisions
from minga.errors import NotFound

WELL_KNOWN = "/.well-known/csaf"
WHITE = f"{WELL_KNOWN}/white"
FEED_NAME = "csaf-feed-tlp-white.json"


@dataclass(frozen=True, slots=True)
class Served:
    """One CSAF document as served: its path under `white/` and its exact bytes."""

    path: str  # "2026/minga-2026-0001.json"
    body: bytes
    tracking_id: str
    title: str
    initial: str
    current: str
    summary: str


def base(public_url: str) -> str:
    return public_url.rstrip("/")


def documents(session: Session, public_url: str) -> list[Served]:
    """Every public advisory about vulnerabilities as a CSAF document, newest change first."""
    rows = session.execute(
        select(Advisory, Organisation.name)
        .join(Organisation, Organisation.id == Advisory.owner_org_id)
        .where(Advisory.status.in_(PUBLIC))
        .order_by(Advisory.updated_at.desc(), Advisory.id.desc())
    ).all()
    served: list[Served] = []
    for advisory, publisher in rows:
        if not csaf.has_csaf(advisory):
            continue
        path = f"{csaf.year_of(advisory)}/{csaf.filename(advisory.tracking_id)}"
        doc = csaf.document(
            advisory,
            revisions(session, advisory),
            publisher=publisher,
            namespace=base(public_url),
            url=f"{base(public_url)}{WHITE}/{path}",
        )
        tracking = doc["document"]["tracking"]
        served.append(
            Served(
                path=path,
                body=orjson.dumps(doc, option=orjson.OPT_INDENT_2),
                tracking_id=advisory.tracking_id,
                title=doc["document"]["title"],
                initial=tracking["initial_release_date"],
                current=tracking["current_release_date"],
                summary=doc["document"]["notes"][0]["text"],
            )
        )
    return served


def find(session: Session, public_url: str, path: str) -> Served:
    for each in documents(session, public_url):
        if each.path == path:
            return each
    raise NotFound(f"no CSAF document {path}")


def hash_line(data: bytes, name: str, algorithm: str) -> str:
    """The `sha256sum`/`sha512sum` line of a document (§7.1.18)."""
    return f"{hashlib.new(algorithm, data).hexdigest()}  {name}\n"


def key_url(public_url: str, fingerprint: str) -> str:
    return f"{base(public_url)}{WELL_KNOWN}/openpgp/{fingerprint}.asc"


def metadata(session: Session, public_url: str, publisher: str, fingerprint: str) -> dict[str, Any]:
    served = documents(session, public_url)
    updated = max((s.current for s in served), default=None) or _now()
    root = base(public_url)
    return {
        "canonical_url": f"{root}{WELL_KNOWN}/provider-metadata.json",
        "distributions": [
            {
                "directory_url": f"{root}{WHITE}/",
                "rolie": {
                    "feeds": [
                        {
                            "summary": "TLP:WHITE (TLP:CLEAR) advisories",
                            "tlp_label": csaf.TLP_LABEL,
                            "url": f"{root}{WHITE}/{FEED_NAME}",
                        }
                    ]
                },
            }
        ],
        "last_updated": updated,
        "list_on_CSAF_aggregators": True,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": True,
        "public_openpgp_keys": [
            {"fingerprint": fingerprint, "url": key_url(public_url, fingerprint)}
        ],
        "publisher": {"category": "coordinator", "name": publisher, "namespace": root},
        "role": "csaf_provider",
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rolie_feed(session: Session, public_url: str) -> dict[str, Any]:
    """The ROLIE feed (RFC 8322) of TLP:WHITE documents (§7.1.15)."""
    root = base(public_url)
    served = documents(session, public_url)
    entries = []
    for each in served:
        url = f"{root}{WHITE}/{each.path}"
        entries.append(
            {
                "id": each.tracking_id,
                "title": each.title,
                "link": [
                    {"rel": "self", "href": url},
                    {"rel": "hash", "href": f"{url}.sha256"},
                    {"rel": "hash", "href": f"{url}.sha512"},
                    {"rel": "signature", "href": f"{url}.asc"},
                ],
                "published": each.initial,
                "updated": each.current,
                "summary": {"content": each.summary},
                "content": {"type": "application/json", "src": url},
                "format": {"schema": csaf.SCHEMA_URL, "version": "2.0"},
            }
        )
    return {
        "feed": {
            "id": "csaf-feed-tlp-white",
            "title": "CSAF feed (TLP:WHITE)",
            "link": [{"rel": "self", "href": f"{root}{WHITE}/{FEED_NAME}"}],
            "category": [
                {"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}
            ],
            "updated": max((s.current for s in served), default=None) or _now(),
            "entry": entries,
        }
    }


def index_txt(served: list[Served]) -> str:
    """§7.1.12: every document's path relative to the folder, one a line."""
    return "".join(f"{s.path}\n" for s in sorted(served, key=lambda s: s.path))


def changes_csv(served: list[Served]) -> str:
    """§7.1.13: path and current release date, most recent change first."""
    ordered = sorted(served, key=lambda s: s.current, reverse=True)
    return "".join(f'"{s.path}","{s.current}"\n' for s in ordered)


def signing_key(session: Session, node_name: str, public_url: str) -> str:
    host = base(public_url).split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return openpgp.ensure_key(session, name=node_name, email=f"csaf@{host or 'localhost'}")
