"""The node as a CSAF 2.0 trusted provider (§7.1, §7.2.1): `provider-metadata.json`, one folder
per year under `white/` with each document's `.sha256`, `.sha512` and OpenPGP `.asc`,
`index.txt`, `changes.csv` and a ROLIE feed, so aggregators and CSAF tools can mirror it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minga.accounts.models import Organisation
from minga.advisories import csaf, openpgp
from minga.advisories.models import Advisory
from minga.advisories.service import PUBLIC, loads, revisions
from minga.errors import NotFound

WELL_KNOWN = "/.well-known/csaf"
WHITE = f"{WELL_KNOWN}/white"
FEED_NAME = "csaf-feed-tlp-white.json"


@dataclass(frozen=True, slots=True)
class Listed:
    """One CSAF document as the feed, index.txt and changes.csv list it (no body needed)."""

    path: str  # "2026/minga-2026-0001.json"
    tracking_id: str
    title: str
    initial: str
    current: str
    summary: str


@dataclass(frozen=True, slots=True)
class Served:
    """One CSAF document as served: where it lives and its exact bytes."""

    path: str
    body: bytes


def base(public_url: str) -> str:
    return public_url.rstrip("/")


def _public_csaf() -> Any:
    return (
        select(Advisory, Organisation.name)
        .join(Organisation, Organisation.id == Advisory.owner_org_id)
        .where(Advisory.status.in_(PUBLIC), Advisory.csaf.is_(True))
    )


def path_of(advisory: Advisory) -> str:
    return f"{csaf.year_of(advisory)}/{csaf.filename(advisory.tracking_id)}"


def documents(session: Session, public_url: str) -> list[Listed]:
    """Every public advisory about vulnerabilities, as its CSAF document is listed, newest
    change first: read from the advisory rows, without building the documents."""
    rows = session.scalars(
        _public_csaf()
        .with_only_columns(Advisory)
        .order_by(Advisory.updated_at.desc(), Advisory.id.desc())
    ).all()
    listed: list[Listed] = []
    for advisory in rows:
        body = loads(advisory)
        text = body["texts"][csaf.language(body)]
        assert advisory.published_at is not None
        listed.append(
            Listed(
                path=path_of(advisory),
                tracking_id=advisory.tracking_id,
                title=text["title"],
                initial=csaf.when(advisory.published_at),
                current=csaf.when(advisory.updated_at),
                summary=text["summary"],
            )
        )
    return listed


def find(session: Session, public_url: str, path: str) -> Served:
    """The document at `path` ("2026/minga-2026-0001.json"), built from its advisory."""
    name = path.partition("/")[2]
    # Advisory ids are letters, digits and dashes: the file name is the id in lower case.
    row = session.execute(
        _public_csaf().where(func.lower(Advisory.tracking_id) == name.removesuffix(".json"))
    ).first()
    if row is None or path_of(row[0]) != path:
        raise NotFound(f"no CSAF document {path}")
    advisory, publisher = row
    doc = csaf.document(
        advisory,
        revisions(session, advisory),
        publisher=publisher,
        namespace=base(public_url),
        url=f"{base(public_url)}{WHITE}/{path}",
    )
    return Served(path, orjson.dumps(doc, option=orjson.OPT_INDENT_2))


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


def index_txt(served: list[Listed]) -> str:
    """§7.1.12: every document's path relative to the folder, one a line."""
    return "".join(f"{s.path}\n" for s in sorted(served, key=lambda s: s.path))


def changes_csv(served: list[Listed]) -> str:
    """§7.1.13: path and current release date, most recent change first."""
    ordered = sorted(served, key=lambda s: s.current, reverse=True)
    return "".join(f'"{s.path}","{s.current}"\n' for s in ordered)


def signing_key(session: Session, node_name: str, public_url: str) -> str:
    host = base(public_url).split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return openpgp.ensure_key(session, name=node_name, email=f"csaf@{host or 'localhost'}")
