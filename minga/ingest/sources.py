"""Where uploads come from: files, directories, URLs and MISP feeds (manifest.json + events).

Every read is bounded by a byte limit checked before (file size, Content-Length) and while
(streamed body) reading, so a huge or endless source ends with a clear error, not a hang.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urljoin

import httpx
import orjson

from minga.errors import InvalidInput
from minga.ingest.jobs import MAX_BYTES
from minga.ingest.misp import feed_event_ids
from minga.ingest.pipeline import Upload

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True, slots=True)
class Pending:
    """One upload still to read; `load` does the reading."""

    name: str
    load: Callable[[], Upload]


def read_file(path: Path, fmt: str = "auto", max_bytes: int | None = None) -> Upload:
    max_bytes = max_bytes or MAX_BYTES
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InvalidInput(f"{path} is {size} bytes, more than the {max_bytes} byte limit")
        return Upload(path.read_bytes(), path.name, None, fmt)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None


def fetch(
    url: str, client: httpx.Client, fmt: str = "auto", max_bytes: int | None = None
) -> Upload:
    """GET a URL, refusing bodies over `max_bytes`."""
    max_bytes = max_bytes or MAX_BYTES
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise InvalidInput(f"{url} answered HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise InvalidInput(f"{url} is {declared} bytes, more than the {max_bytes} limit")
            chunks, total = [], 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise InvalidInput(f"{url} is more than the {max_bytes} byte limit")
                chunks.append(chunk)
            ctype = response.headers.get("content-type")
    except httpx.HTTPError as exc:
        raise InvalidInput(f"cannot fetch {url}: {exc}") from None
    return Upload(b"".join(chunks), url, ctype, fmt)


def _feed_dir(path: Path) -> list[Pending]:
    manifest = read_file(path / "manifest.json")
    ids = feed_event_ids(_decode(manifest.data, "manifest.json"))
    return [Pending(f"{i}.json", partial(read_file, path / f"{i}.json", "misp")) for i in ids]


def _feed_url(url: str, client: httpx.Client) -> list[Pending]:
    base = url.removesuffix("manifest.json")
    base = base if base.endswith("/") else base + "/"
    manifest = fetch(base + "manifest.json", client)
    ids = feed_event_ids(_decode(manifest.data, "manifest.json"))
    return [
        Pending(f"{i}.json", partial(fetch, urljoin(base, f"{i}.json"), client, "misp"))
        for i in ids
    ]


def _decode(data: bytes, what: str) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None


def plan(source: str, fmt: str, client: httpx.Client) -> list[Pending]:
    """The uploads one command-line source stands for."""
    if source.startswith(("http://", "https://")):
        if fmt == "misp-feed" or source.endswith(("manifest.json", "/")):
            return _feed_url(source, client)
        return [Pending(source, lambda: fetch(source, client, fmt))]
    path = Path(source)
    if path.is_dir():
        if (path / "manifest.json").is_file():
            return _feed_dir(path)
        if fmt == "misp-feed":
            raise InvalidInput(f"{path} has no manifest.json, so it is not a MISP feed")
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        return [Pending(p.name, partial(read_file, p, fmt)) for p in files]
    if fmt == "misp-feed":
        if path.name == "manifest.json":
            return _feed_dir(path.parent)
        raise InvalidInput(f"{path} is not a MISP feed directory or manifest.json")
    if not path.exists():
        raise InvalidInput(f"no such file or directory: {path}")
    return [Pending(path.name, lambda: read_file(path, fmt))]
