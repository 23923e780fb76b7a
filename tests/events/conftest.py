"""The NATS server the bus tests run against (127.0.0.1:4222, `.ci/run` starts it).

Each test gets its own subject and stream prefix, and its streams are deleted after it, so
tests running in parallel on one server never see each other's messages. With
MINGA_REQUIRE_SERVICES=1 (CI) an unreachable NATS fails the tests instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import nats
import pytest

from minga.events import bus
from minga.settings import Settings
from tests.conftest import REQUIRE_SERVICES
from tests.incidents.conftest import community  # noqa: F401 (the incident tests' community)

NATS_URL = os.environ.get("MINGA_TEST_NATS_URL", "nats://127.0.0.1:4222")


def nats_problem(url: str) -> str | None:
    """Why the JetStream server at `url` cannot be used, or None."""

    async def probe() -> None:
        async def quiet(exc: Exception) -> None:
            pass

        connecting = nats.connect(
            url, connect_timeout=2, max_reconnect_attempts=1, reconnect_time_wait=1, error_cb=quiet
        )
        nc = await asyncio.wait_for(connecting, 5)
        try:
            await nc.jetstream().account_info()
        finally:
            await nc.close()

    try:
        asyncio.run(probe())
        return None
    except Exception as exc:  # any failure means "not usable"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


@pytest.fixture(scope="session")
def nats_url() -> str:
    problem = nats_problem(NATS_URL)
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"NATS is required (MINGA_REQUIRE_SERVICES=1) but {NATS_URL}: {problem}")
        pytest.skip(f"NATS not reachable at {NATS_URL}: {problem}")
    return NATS_URL


@pytest.fixture
def bus_settings(nats_url: str, db_url: str) -> Iterator[Settings]:
    """Settings of a node on the bus, under a prefix of its own (its streams removed after)."""
    settings = Settings(
        database_url=db_url,
        event_bus=nats_url,
        event_bus_prefix=f"t{uuid.uuid4().hex[:12]}",
        event_bus_ack_seconds=1.5,
        event_bus_max_deliveries=2,
        ingest_worker_seconds=0,
        federation_receipts_seconds=0,
        search_index_seconds=0,
    )
    yield settings

    async def clean() -> None:
        nc = await nats.connect(nats_url)
        try:
            await bus.delete_streams(nc.jetstream(), bus.names(settings))
        finally:
            await nc.close()

    asyncio.run(clean())
