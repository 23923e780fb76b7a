"""The CSAF provider paths under `/.well-known/csaf/` (CSAF 2.0 §7.1): provider metadata, the
TLP:WHITE folder with one sub-folder per year, each document's hashes and OpenPGP signature,
`index.txt`, `changes.csv`, the ROLIE feed and the public key. No sign-in; off with the site."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from minga.accounts.models import Organisation
from minga.accounts.node import operator_org_id
from minga.advisories import openpgp, provider
from minga.advisories.provider import FEED_NAME, WELL_KNOWN, WHITE, Listed
from minga.advisories.site import PublicRoute, Reader, ReaderDep, secured
from minga.errors import NotFound

router = APIRouter(route_class=PublicRoute, include_in_schema=False)
Year = Annotated[str, Path(pattern=r"^\d{4}$")]
FileName = Annotated[
    str, Path(max_length=120, pattern=r"^[+\-a-z0-9_]+\.json(\.sha256|\.sha512|\.asc)?$")
]
JSON = "application/json"


def _json(data: object) -> Response:
    return secured(Response(orjson.dumps(data, option=orjson.OPT_INDENT_2), media_type=JSON))


def _text(body: str, media: str = "text/plain; charset=utf-8") -> Response:
    return secured(Response(body, media_type=media))


def _key(reader: Reader) -> str:
    armoured = provider.signing_key(reader.session, reader.site_name, reader.public_url)
    reader.session.commit()  # made on first use
    return armoured


def _publisher(reader: Reader) -> str:
    org_id = operator_org_id(reader.session)
    org = reader.session.get(Organisation, org_id) if org_id is not None else None
    return org.name if org is not None else reader.site_name


def _served(reader: Reader) -> list[Listed]:
    return provider.documents(reader.session, reader.public_url)


@router.get(f"{WELL_KNOWN}/provider-metadata.json")
def provider_metadata(reader: ReaderDep) -> Response:
    fingerprint = openpgp.fingerprint(_key(reader))
    return _json(
        provider.metadata(reader.session, reader.public_url, _publisher(reader), fingerprint)
    )


@router.get(f"{WELL_KNOWN}/openpgp/{{name}}")
def public_key(reader: ReaderDep, name: Annotated[str, Path(max_length=80)]) -> Response:
    armoured = _key(reader)
    if name != f"{openpgp.fingerprint(armoured)}.asc":
        raise NotFound(f"no key {name}")
    return _text(openpgp.public_key(armoured), "application/pgp-keys")


@router.get(f"{WHITE}/{FEED_NAME}")
def rolie_feed(reader: ReaderDep) -> Response:
    return _json(provider.rolie_feed(reader.session, reader.public_url))


@router.get(f"{WHITE}/index.txt")
def index_txt(reader: ReaderDep) -> Response:
    return _text(provider.index_txt(_served(reader)))


@router.get(f"{WHITE}/changes.csv")
def changes_csv(reader: ReaderDep) -> Response:
    return _text(provider.changes_csv(_served(reader)), "text/csv; charset=utf-8")


def _listing(title: str, names: list[str]) -> Response:
    links = "".join(f'<li><a href="{n}">{n}</a></li>' for n in names)
    body = f"<!doctype html><title>{title}</title><h1>{title}</h1><ul>{links}</ul>"
    return secured(HTMLResponse(body))


@router.get(f"{WHITE}/")
def white_folder(reader: ReaderDep) -> Response:
    """Directory listing (§7.1.14): the years, the feed, index.txt and changes.csv."""
    years = sorted({s.path.split("/", 1)[0] for s in _served(reader)}, reverse=True)
    names = [f"{y}/" for y in years] + ["changes.csv", "index.txt", FEED_NAME]
    return _listing("white", names)


@router.get(f"{WHITE}/{{year}}/")
def year_folder(reader: ReaderDep, year: Year) -> Response:
    files = [s.path.split("/", 1)[1] for s in _served(reader) if s.path.startswith(year + "/")]
    if not files:
        raise NotFound(f"no CSAF documents of {year}")
    names = [f"{f}{ext}" for f in sorted(files) for ext in ("", ".asc", ".sha256", ".sha512")]
    return _listing(year, names)


@router.get(f"{WHITE}/{{year}}/{{name}}")
def csaf_file(reader: ReaderDep, year: Year, name: FileName) -> Response:
    document, _, extension = name.partition(".json")
    doc_name = f"{document}.json"
    served = provider.find(reader.session, reader.public_url, f"{year}/{doc_name}")
    if extension == ".sha256":
        return _text(provider.hash_line(served.body, doc_name, "sha256"))
    if extension == ".sha512":
        return _text(provider.hash_line(served.body, doc_name, "sha512"))
    if extension == ".asc":
        return _text(openpgp.sign(_key(reader), served.body), "application/pgp-signature")
    return secured(Response(served.body, media_type=JSON))
