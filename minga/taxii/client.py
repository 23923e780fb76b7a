"""A TAXII 2.1 client (httpx) that walks a remote collection page by page and says plainly
what is wrong when the remote does not follow the spec."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx
import orjson

from minga.intel.stix import ts_to_us

TAXII = "application/taxii+json;version=2.1"


class RemoteError(Exception):
    """The remote server failed or answered something that is not TAXII 2.1."""

    exit_code = 4  # minga/ops/exits.py: REMOTE


class RemoteUnreachable(RemoteError):
    """No answer at all: the server is down, the name does not resolve, a timeout."""

    exit_code = 3  # UNAVAILABLE


class RemoteRefused(RemoteError):
    """The server refused the credentials (401) or the access (403)."""


class UnknownCollection(RemoteError):
    """The server has no collection by that id, alias or title (for these credentials)."""

    exit_code = 2  # USAGE: the name given is wrong


@dataclass(frozen=True, slots=True)
class RemotePage:
    objects: list[Any]
    more: bool
    next: str | None
    date_added_last: str | None  # X-TAXII-Date-Added-Last: where a later pull resumes


def _reason(exc: httpx.HTTPError) -> str:
    cause: BaseException = exc
    while cause.__context__ is not None and not isinstance(cause, ConnectionError | OSError):
        cause = cause.__context__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    return str(exc) or type(exc).__name__


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


class TaxiiClient:
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        auth: httpx.Auth | None = None
        headers = {"Accept": TAXII}
        if token and username:
            auth = httpx.BasicAuth(username, token)
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = _slash(url)
        self.http = httpx.Client(auth=auth, headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> TaxiiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, params: dict[str, Any] | None = None) -> tuple[Any, httpx.Headers]:
        try:
            response = self.http.get(url, params=params)
        except httpx.TimeoutException:
            raise RemoteUnreachable(f"the TAXII server at {url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise RemoteUnreachable(
                f"cannot reach the TAXII server at {url} ({_reason(exc)}): is it running,"
                " and is the URL right?"
            ) from None
        ctype = response.headers.get("content-type", "")
        body = self._json(response, url)
        if response.status_code == 401:
            raise RemoteRefused(
                f"the TAXII server at {url} refused the credentials (401 Unauthorized):"
                " check the token (--token, $MINGA_TAXII_TOKEN or the feed's --token-env)"
                " and --username"
            )
        if response.status_code == 403:
            raise RemoteRefused(
                f"the TAXII server at {url} accepted the credentials but refused access"
                " (403 Forbidden): ask its operator to let this account read the collection"
            )
        if response.status_code >= 400:
            detail = ""
            if isinstance(body, dict):
                detail = str(body.get("description") or body.get("message") or body.get("title"))
            raise RemoteError(
                f"{url} answered {response.status_code} {response.reason_phrase}"
                + (f": {detail}" if detail else "")
            )
        if not ctype.replace(" ", "").lower().startswith("application/taxii+json"):
            raise RemoteError(f"{url} answered Content-Type {ctype!r}, not TAXII 2.1 ({TAXII})")
        if not isinstance(body, dict):
            raise RemoteError(f"{url} answered JSON that is not an object")
        return body, response.headers

    @staticmethod
    def _json(response: httpx.Response, url: str) -> Any:
        if not response.content:
            return {}
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            if response.status_code >= 400:
                return None
            raise RemoteError(f"{url} answered something that is not JSON") from None

    def api_root(self) -> str:
        """The API root of `url`: itself, or the default root if `url` is a discovery URL."""
        body, _ = self.get(self.url)
        if "api_roots" in body or "default" in body:
            root = body.get("default") or (body.get("api_roots") or [None])[0]
            if not isinstance(root, str):
                raise RemoteError(f"{self.url} is a discovery endpoint listing no API root")
            return _slash(urljoin(self.url, root))
        if "versions" not in body:
            raise RemoteError(f"{self.url} is neither a TAXII discovery URL nor an API root")
        if not any("taxii+json;version=2.1" in str(v).replace(" ", "") for v in body["versions"]):
            raise RemoteError(f"{self.url} does not offer TAXII 2.1 (versions {body['versions']})")
        return self.url

    def collections(self, api_root: str) -> list[dict[str, Any]]:
        body, _ = self.get(urljoin(api_root, "collections/"))
        found = body.get("collections", [])
        if not isinstance(found, list):
            raise RemoteError("the remote's collections are not a list")
        return [c for c in found if isinstance(c, dict)]

    def find_collection(self, api_root: str, ref: str) -> str:
        """A collection id from its id, alias or title."""
        found = self.collections(api_root)
        for c in found:
            if ref in (c.get("id"), c.get("alias"), c.get("title")):
                if c.get("can_read") is False:
                    raise RemoteRefused(
                        f"the collection {ref!r} may not be read with these credentials"
                    )
                return str(c["id"])
        offered = ", ".join(repr(c.get("alias") or c.get("title") or c.get("id")) for c in found)
        raise UnknownCollection(
            f"the TAXII server has no collection {ref!r} visible to these credentials"
            + (f"; it offers {offered}" if offered else "; it offers none to them")
        )

    def pages(
        self,
        api_root: str,
        collection_id: str,
        *,
        added_after: str | None = None,
        limit: int = 500,
    ) -> Iterator[RemotePage]:
        """Every page of objects added after `added_after`, in the remote's order."""
        url = urljoin(api_root, f"collections/{collection_id}/objects/")
        params: dict[str, Any] = {"limit": limit}
        if added_after:
            params["added_after"] = added_after
        seen_next: set[str] = set()
        while True:
            body, headers = self.get(url, params)
            page = self._page(body, headers, url)
            yield page
            if not page.more:
                return
            if page.next:
                if page.next in seen_next:
                    raise RemoteError(f"{url} returned the same next cursor twice")
                seen_next.add(page.next)
                params["next"] = page.next
            elif page.date_added_last:
                # Servers without `next` page by moving added_after forward.
                params.pop("next", None)
                params["added_after"] = page.date_added_last
            else:
                raise RemoteError(f"{url} says there is more but gives no next or Date-Added-Last")

    @staticmethod
    def _page(body: dict[str, Any], headers: httpx.Headers, url: str) -> RemotePage:
        objects = body.get("objects", [])
        if not isinstance(objects, list):
            raise RemoteError(f"{url} answered an envelope whose objects are not a list")
        more = body.get("more", False)
        if not isinstance(more, bool):
            raise RemoteError(f"{url} answered more={more!r}, not true or false")
        if more and not objects:
            raise RemoteError(f"{url} says there is more but sent an empty page")
        nxt = body.get("next")
        last = headers.get("x-taxii-date-added-last")
        if last is not None:
            try:
                ts_to_us(last)
            except ValueError:
                raise RemoteError(f"{url} sent X-TAXII-Date-Added-Last {last!r}") from None
        return RemotePage(objects, more, str(nxt) if nxt else None, last)
