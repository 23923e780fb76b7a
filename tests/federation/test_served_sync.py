"""Three `minga serve` processes (one on PostgreSQL, two on SQLite) in a cycle a↔b↔c↔a:
a version published at a is pushed at once to b and c, stored once on each, and the cycle
falls quiet; a node that was down catches up by pulling from its cursor when it is back."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _pg_available
from tests.federation.served import (
    ServedNode,
    count_stored,
    join,
    pg_database_url,
    wait_for,
)


def indicator(n: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-12-02T10:00:00.000Z",
        "modified": "2026-12-02T10:00:00.000Z",
        "name": f"C2 address {n}",
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']",
        "pattern_type": "stix",
        "valid_from": "2026-12-02T10:00:00Z",
    }


# The module's tests on one worker, so that its cycle of nodes is built once.
pytestmark = pytest.mark.xdist_group("served-cycle")


@pytest.fixture(scope="module")
def cycle(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServedNode]]:
    tmp = tmp_path_factory.mktemp("served-federation")
    drop = None
    if _pg_available() is None:
        first, drop = pg_database_url()
    else:
        shutil.copy(sqlite_template, tmp / "a.db")
        first = f"sqlite:///{tmp / 'a.db'}"
    urls = [first]
    for name in ("b", "c"):
        shutil.copy(sqlite_template, tmp / f"{name}.db")
        urls.append(f"sqlite:///{tmp / f'{name}.db'}")
    nodes = [ServedNode(n, u, tmp / f"{n}.log") for n, u in zip("abc", urls, strict=True)]
    for node, country in zip(nodes, ("GT", "CR", "SV"), strict=True):
        node.init(country)
    a, b, c = nodes
    join(a, b)
    join(b, c)
    join(c, a, a_to_b="both", b_to_a="pull")  # c pulls from a, a pushes and pulls
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        if drop is not None:
            drop()


def publish(node: ServedNode, obj: dict[str, Any], reach: str = "federation") -> None:
    r = node.api("POST", f"/api/objects?tlp=green&reach={reach}", json=obj)
    assert r.status_code == 201, r.text


def test_push_reaches_every_node_once_and_the_cycle_falls_quiet(
    cycle: list[ServedNode],
) -> None:
    a, b, c = cycle
    obj = indicator(1)
    publish(a, obj)
    assert wait_for(lambda: count_stored(b, obj["id"]) == 1 and count_stored(c, obj["id"]) == 1)
    connected = indicator(2)
    publish(b, connected, reach="connected")
    assert wait_for(
        lambda: count_stored(a, connected["id"]) + count_stored(c, connected["id"]) == 2
    )

    # Quiet: nothing is sent again, whatever the loops do in the next rounds. A node whose first
    # push waited out a backoff (its peer was still starting) may still be delivering what it
    # had never sent, such as its organisations' identities: the window starts once the
    # counters have held still for a second.
    def counters() -> list[Any]:
        return [n.query("SELECT name, sent FROM federation_peers ORDER BY name") for n in cycle]

    def still() -> bool:
        before = counters()
        wait_for(lambda: False, seconds=1.0)
        return counters() == before

    assert wait_for(still, seconds=90)
    sent = counters()
    wait_for(lambda: False, seconds=2.0)
    assert counters() == sent
    for node in cycle:
        assert count_stored(node, obj["id"]) == 1
        assert count_stored(node, connected["id"]) == 1
    (row,) = c.query(
        "SELECT origin_node, hop_count FROM stix_objects WHERE stix_id = :i", i=obj["id"]
    )
    assert row[0] == "a" and row[1] in (1, 2)

    # Every key pinned at first contact (a peer that was still starting is asked again after
    # its backoff, so on a loaded machine the last pin may come a few seconds later).
    def unpinned() -> int:
        return sum(
            n.query("SELECT count(*) FROM federation_peers WHERE public_key IS NULL")[0][0]
            for n in cycle
        )

    assert wait_for(lambda: unpinned() == 0, seconds=60), unpinned()
    for node in cycle:  # no version refused
        assert node.query("SELECT sum(rejected) FROM federation_peers")[0][0] == 0


def test_a_node_back_from_downtime_catches_up(cycle: list[ServedNode]) -> None:
    a, _, c = cycle
    c.stop()
    missed = [indicator(10 + n) for n in range(30)]
    for obj in missed:
        publish(a, obj)
    c.start()  # pulls from a at start (and a's push retries after its backoff)
    assert wait_for(lambda: all(count_stored(c, o["id"]) == 1 for o in missed), seconds=60)
    # a's push (retrying) may deliver them before c's pull commits its first page: the pull's
    # cursor is awaited, not read at the moment the objects are all there.
    cursor_of_a = "SELECT pull_cursor FROM federation_peers WHERE name = 'a'"
    assert wait_for(lambda: c.query(cursor_of_a)[0][0] is not None, seconds=60)
