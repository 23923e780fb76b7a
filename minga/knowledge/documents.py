"""Reading reference data from a file, a directory (searched for *.json) or a URL.

Every read is bounded like an ingest upload; a document that is not JSON is named in a clear
error. What each document is (an ATT&CK bundle, the KEV catalogue, a MISP taxonomy or galaxy)
is decided from its content, so `--from DIR` may hold several kinds at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from minga.errors import InvalidInput
from minga.ingest import sources
from minga.ingest.stixfile import decode_json

KINDS = ("attack", "kev", "taxonomy", "galaxy")


@dataclass(frozen=True, slots=True)
class Document:
    name: str  # file path or URL
    kind: str | None  # one of KINDS, None when unknown
    content: Any


def kind_of(content: Any) -> str | None:
    """What a decoded JSON document is, from its shape."""
    if not isinstance(content, dict):
        return "attack" if isinstance(content, list) else None
    if "vulnerabilities" in content and "catalogVersion" in content:
        return "kev"
    if "namespace" in content and ("predicates" in content or "values" in content):
        return "taxonomy"
    if isinstance(content.get("values"), list) and "type" in content and "uuid" in content:
        return "galaxy"
    otype = content.get("type")
    if otype == "bundle" or (isinstance(otype, str) and "id" in content):
        return "attack"
    return None


def read(location: str, max_bytes: int | None = None) -> Iterator[Document]:
    """The JSON documents at a file, directory (recursively, sorted) or http(s) URL."""
    if location.startswith(("http://", "https://")):
        with httpx.Client(timeout=sources.TIMEOUT, follow_redirects=True) as client:
            upload = sources.fetch(location, client, max_bytes=max_bytes)
        content = decode_json(upload.data, f"document at {location}")
        yield Document(location, kind_of(content), content)
        return
    path = Path(location)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            raise InvalidInput(f"{path} holds no .json file")
    elif path.is_file():
        files = [path]
    else:
        raise InvalidInput(f"no such file or directory: {path}")
    for file in files:
        upload = sources.read_file(file, max_bytes=max_bytes)
        content = decode_json(upload.data, f"file {file}")
        yield Document(str(file), kind_of(content), content)
