"""What the in-process CPU benchmarks (`serve_cpu.py`, `post_cpu.py`) share: one request to the
node's ASGI app with no server and no sockets, and the app over a benchmark node's database
with the background loops off."""

from __future__ import annotations

from typing import Any


async def call(
    app: Any, method: str, path: str, query: str, headers: dict[str, str], body: bytes = b""
) -> int:
    """Send one request through `app`; its HTTP status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in {"host": "bench", **headers}.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def node_app(url: str) -> Any:
    """The node's app over `url`; lifespan tasks (background loops) are not started."""
    from minga.app import create_app
    from minga.settings import Settings

    settings = Settings(
        database_url=url, ingest_worker_seconds=0, taxii_pull_check_seconds=0, log_level="warning"
    )
    return create_app(settings)
