"""Two real nodes (`minga serve` on loopback ports; a on the backend under test, b on SQLite):
a version published at a is pushed to b by the sync loop, b's receipt loop sends its receipt
back over HTTP, and a recall at a comes back as a "recalled" receipt."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import indicator
from tests.federation.served import ServedNode, join, wait_for

PATIENCE = 60.0  # seconds the nodes may take on a busy machine (a bound, not a speed check)


@pytest.fixture
def served(db_url: str, sqlite_template: Path, tmp_path: Path) -> Iterator[list[ServedNode]]:
    shutil.copy(sqlite_template, tmp_path / "b.db")
    a = ServedNode("isac", db_url, tmp_path / "isac.log")
    b = ServedNode("gt", f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "gt.log")
    a.init("GT")
    b.init("GT")
    join(a, b)
    for node in (a, b):
        node.env["MINGA_FEDERATION_RECEIPTS_SECONDS"] = "0.2"
    try:
        a.start()
        b.start()
        yield [a, b]
    finally:
        a.stop()
        b.stop()


def receipts_at(node: ServedNode, stix_id: str) -> dict[str, Any]:
    answer = node.api("GET", f"/api/objects/{stix_id}/receipts")
    return answer.json() if answer.status_code == 200 else {}


def logs(*nodes: ServedNode) -> str:
    return "\n".join(n.log.read_text()[-3000:] for n in nodes if n.log.exists())


def test_served_nodes_send_receipts_for_a_version_and_its_recall(served: list[ServedNode]):
    a, b = served
    obj = indicator(61, name="Ransomware loader")
    made = a.api("POST", "/api/objects?reach=federation&tlp=green", json=obj)
    assert made.status_code == 201, made.text

    received = wait_for(lambda: receipts_at(a, obj["id"]).get("received") == 1, PATIENCE)
    assert received, f"{receipts_at(a, obj['id'])}\n{logs(a, b)}"
    tally = receipts_at(a, obj["id"])
    assert tally["recalled"] == 0
    assert [n["node"] for n in tally["nodes"]] == ["gt"]
    assert tally["nodes"][0]["key_vouched"] is False  # b is a pinned peer of a

    revoked = a.api("POST", f"/api/objects/{obj['id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    recalled = wait_for(lambda: receipts_at(a, obj["id"]).get("recalled") == 1, PATIENCE)
    assert recalled, f"{receipts_at(a, obj['id'])}\n{logs(a, b)}"
    meta = a.api("GET", f"/api/objects/{obj['id']}").json()["meta"]
    assert meta["receipts"] == {"received": 1, "recalled": 1}
