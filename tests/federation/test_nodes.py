"""Federation between real nodes: four `minga serve` processes with their own databases.

Topology (every link peered both ways with `minga peer add ... --direction both`):

    sector ISAC → national CSIRT GT → regional hub ← national CSIRT CR

so CR is three hops from the ISAC and knows its key only as vouched for along the way. The
cycle check then links GT and CR directly (GT↔hub↔CR↔GT), and the later checks run on that.
ISAC and the hub run on SQLite, GT and CR on PostgreSQL. One topology serves the whole module
(set up with the CLI contract: `minga init`, `minga node show`, `minga peer add`, the peer
tokens passed to `minga serve` through the variables `--token-env` names). Checks: where each
TLP × reach × group case arrives, the cycle, signatures (tampered, unknown key, spoofed creator)
refused with nothing stored, kill -9 of the middle node during a sync, and a recall with
receipts. What arrived is read from each node's database (every copy of an id counts).
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from nacl.signing import SigningKey

from minga.federation.keys import NodeIdentity, decode_public_key, fingerprint
from minga.federation.signing import sign, verify_document
from minga.intel.stix import TLP2_MARKING_ID
from minga.policy import Tlp
from tests.federation.nodes import (
    TAXII,
    Network,
    Node,
    Spec,
    indicator,
    network,
    pg_available,
    publish,
    token_env,
    wait_until,
)

pytestmark = pytest.mark.xdist_group("federation-nodes")  # one topology, one worker

NODES = [
    Spec("isac", "Banking ISAC GT", "GT", "sqlite"),
    Spec("gt", "CSIRT GT", "GT", "postgresql"),
    Spec("hub", "Regional hub", "PA", "sqlite"),
    Spec("cr", "CSIRT CR", "CR", "postgresql"),
]
LINKS = [("isac", "gt"), ("gt", "hub"), ("cr", "hub")]
CYCLE = ("gt", "cr")
ALL = [s.name for s in NODES]
ARRIVE = 30.0  # seconds any expected arrival may take (bounded waits, short polls)
TLPS = ["clear", "green", "amber", "amber+strict", "red"]
REACHES = ["organisation", "community", "connected", "federation"]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    problem = pg_available()
    if problem is not None:
        if os.environ.get("MINGA_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL is required (MINGA_REQUIRE_SERVICES=1) but: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    root = tmp_path_factory.mktemp("federation")
    with network(root, NODES, LINKS, MINGA_FEDERATION_RECEIPTS_SECONDS="0.5") as n:
        yield n


@pytest.fixture(scope="module")
def cycle(net: Network) -> Network:
    """The national CSIRTs peer directly too: GT↔hub↔CR↔GT is a cycle."""
    if CYCLE not in net.links:
        net.link([CYCLE])
        net.restart(list(CYCLE))  # each reads the other's token at start
    return net


# -- helpers -------------------------------------------------------------------------------


def holders(net: Network, stix_id: str) -> set[str]:
    return {name for name in ALL if net[name].versions_of(stix_id) > 0}


def copies(net: Network, stix_id: str) -> dict[str, int]:
    return {name: net[name].versions_of(stix_id) for name in ALL}


def arrive(net: Network, expected: dict[str, set[str]], timeout: float = ARRIVE) -> None:
    """Wait until each id is held by at least its expected nodes."""

    def missing() -> dict[str, set[str]]:
        return {i: want - holders(net, i) for i, want in expected.items() if want - holders(net, i)}

    left: dict[str, set[str]] = {}

    def done() -> bool:
        left.clear()
        left.update(missing())
        return not left

    try:
        wait_until(done, timeout=timeout, interval=0.2, what="arrival")
    except Exception:
        pytest.fail(f"not arrived within {timeout:.0f} s: {left}\n{logs(net)}")


def logs(net: Network) -> str:
    return "\n".join(f"--- {n.name}\n{n.tail(1500)}" for n in net.nodes.values())


def operator_org(node: Node) -> tuple[int, str]:
    """(id, identity_ref) of the organisation that runs `node`."""
    row = node.rows("select id, identity_ref from organisations where name = :n", n=node.org)[0]
    return int(row[0]), str(row[1])


def peer_row(node: Node, peer: str) -> dict[str, Any]:
    row = node.rows("select * from federation_peers where name = :n", n=peer)
    assert row, f"{node.name} has no peer {peer}"
    return dict(row[0]._mapping)


def identity_of(node: Node) -> NodeIdentity:
    """The node's own signing identity, read from its database (to forge or sign as it)."""
    seed = node.scalar("select value from node_settings where key = 'node_signing_seed'")
    return NodeIdentity(node.name, node.url, SigningKey(base64.b64decode(seed)))


def node_document(node: Node) -> dict[str, Any]:
    answer = httpx.get(f"{node.url}/federation/node", timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def federation_objects_url(node: Node) -> str:
    url = str(node_document(node)["taxii_collection"]).rstrip("/") + "/"
    return url if url.endswith("/objects/") else url + "objects/"


def sync_counters(net: Network) -> dict[str, list[tuple[str, int, int, int]]]:
    return {
        name: [
            (str(r[0]), int(r[1]), int(r[2]), int(r[3]))
            for r in net[name].rows(
                "select name, sent, received, rejected from federation_peers order by name"
            )
        ]
        for name in ALL
    }


def expected_holders(tlp: str, reach: str, grouped: bool) -> set[str]:
    """Where an object published at the ISAC may go (`policy.may_node_receive`, hop by hop).

    A group naming the GT node sends it to GT alone; without a group, AMBER+STRICT and RED go
    nowhere; `connected` goes one hop (GT); `federation` goes everywhere.
    """
    if reach in ("organisation", "community"):
        return {"isac"}
    if grouped:
        return {"isac", "gt"}
    if tlp in ("amber+strict", "red"):
        return {"isac"}
    return {"isac", "gt"} if reach == "connected" else set(ALL)


# -- checks --------------------------------------------------------------------------------


def test_each_node_shows_its_signed_identity_and_its_peers(net: Network) -> None:
    for name in ALL:
        node = net[name]
        doc = node_document(node)
        key = decode_public_key(doc["public_key"])
        assert verify_document(doc, key)["name"] == name
        assert doc["fingerprint"] == fingerprint(key) == node.fingerprint()
        assert doc["url"].rstrip("/") == node.url
        with node.client() as c:
            answer = c.get("/api/peers")
        assert answer.status_code == 200, answer.text
        assert {p["name"] for p in answer.json()} == net.neighbours(name)
    # The command line says the same (one node each: every command is a Python start-up).
    listed = net["gt"].cli("peer", "list")
    assert all(peer in listed for peer in net.neighbours("gt"))
    assert "cr" in net["hub"].cli("peer", "status", "cr")
    # The hub vouches for the keys of the nodes pinned to it.
    vouched = {v["name"]: v["fingerprint"] for v in node_document(net["hub"])["vouches"]}
    assert {"gt", "cr"} <= set(vouched)
    assert (vouched["gt"], vouched["cr"]) == (net["gt"].fingerprint(), net["cr"].fingerprint())


def test_a_peer_whose_key_does_not_match_its_fingerprint_is_refused(net: Network) -> None:
    hub, cr = net["hub"], net["cr"]
    done = hub.run(
        "peer", "add", "impostor", cr.url, "--fingerprint", net["isac"].fingerprint(),
        "--direction", "both", "--token-env", "MINGA_PEER_TOKEN_IMPOSTOR",
    )  # fmt: skip
    assert done.returncode != 0
    assert "fingerprint" in done.stderr.lower()
    assert "Traceback" not in done.stdout + done.stderr
    assert hub.scalar("select count(*) from federation_peers where name = 'impostor'") == 0
    assert hub.scalar("select count(*) from users where name = 'peer-impostor'") == 0


def test_every_tlp_reach_and_group_case_arrives_exactly_where_the_policy_says(
    net: Network,
) -> None:
    isac = net["isac"]
    gt_org = peer_row(isac, "gt")["org_id"]
    isac.cli("group", "create", "to-csirt-gt", "--owner", isac.org, "--member", str(gt_org))
    group = int(isac.scalar("select id from sharing_groups where name = 'to-csirt-gt'"))
    cases: dict[str, tuple[str, str, bool]] = {}
    for grouped in (False, True):
        for tlp in TLPS:
            for reach in REACHES:
                obj = indicator(f"matrix {tlp} {reach} {'group' if grouped else 'all'}")
                publish(isac, obj, tlp=tlp, reach=reach, groups=[group] if grouped else None)
                cases[obj["id"]] = (tlp, reach, grouped)
    # Pushes go in store order: once a later object is everywhere, nothing earlier is on its way.
    barrier = indicator("matrix barrier")
    publish(isac, barrier, tlp="clear", reach="federation")
    want = {i: expected_holders(*case) for i, case in cases.items()}
    arrive(net, {**want, barrier["id"]: set(ALL)})

    wrong = {}
    for stix_id, case in cases.items():
        held = copies(net, stix_id)
        if {n for n, c in held.items() if c} != want[stix_id] or max(held.values()) != 1:
            wrong[case] = held
    # (tlp, reach, grouped) → versions held per node; each expected once where due, else none.
    assert wrong == {}

    # TLP never lowered; `connected` arrives as `community`, `federation` stays `federation`.
    for stix_id, (tlp, reach, grouped) in cases.items():
        for name in want[stix_id] - {"isac"}:
            row = net[name].rows(
                "select tlp, reach, origin_node from stix_objects where stix_id = :i", i=stix_id
            )[0]
            assert row[0] == tlp and row[2] == "isac", (name, stix_id, row)
            if not grouped:
                assert row[1] == ("community" if reach == "connected" else "federation"), row
    # The ISAC's organisation appears on the far node as a remote organisation, with its country.
    found = net["cr"].rows(
        "select country, remote_node from organisations where name = :n", n=isac.org
    )
    assert [tuple(r) for r in found] == [("GT", "isac")]


def test_a_cycle_converges_with_each_version_stored_once(cycle: Network) -> None:
    net = cycle
    published = {}
    for name in ("gt", "hub", "cr"):
        obj = indicator(f"cycle from {name}")
        publish(net[name], obj, tlp="green", reach="federation")
        published[obj["id"]] = name
    arrive(net, {stix_id: set(ALL) for stix_id in published})
    # No further traffic: the peers' counters settle (bounded wait).
    seen: list[Any] = [None]

    def settled() -> bool:
        now = sync_counters(net)
        same = now == seen[0]
        seen[0] = now
        return same

    wait_until(settled, timeout=ARRIVE, interval=1.0, what="the sync counters settling")
    for stix_id, origin in published.items():
        assert copies(net, stix_id) == dict.fromkeys(ALL, 1)
        for name in set(ALL) - {origin}:
            arrivals = net[name].scalar(
                "select count(*) from federation_arrivals where stix_id = :i", i=stix_id
            )
            assert arrivals == 1, (stix_id, name, arrivals)


def test_tampered_unknown_key_and_spoofed_creator_are_refused_with_nothing_stored(
    net: Network,
) -> None:
    isac, gt = net["isac"], net["gt"]
    # A first object through the ordinary path: the ISAC's organisation is known at GT.
    first = indicator("before forgeries")
    publish(isac, first, tlp="green", reach="connected")
    arrive(net, {first["id"]: {"isac", "gt"}})

    me = identity_of(isac)
    _, isac_ref = operator_org(isac)
    _, gt_ref = operator_org(gt)
    _, hub_ref = operator_org(net["hub"])
    green = TLP2_MARKING_ID[Tlp.GREEN]

    def made(label: str, creator: str = isac_ref) -> dict[str, Any]:
        return {**indicator(label), "created_by_ref": creator, "object_marking_refs": [green]}

    good = sign(made("signed by the isac"), me)
    tampered = sign(made("tampered"), me)
    tampered["name"] = "changed on the way"
    stranger = NodeIdentity("isac", isac.url, SigningKey.generate())
    unknown_key = sign(made("unknown key"), stranger)
    spoof_local = sign(made("spoofed: a GT organisation", creator=gt_ref), me)
    spoof_other = sign(made("spoofed: the hub's organisation", creator=hub_ref), me)
    unsigned = made("no signature")
    bad = [tampered, unknown_key, spoof_local, spoof_other, unsigned]
    rejected_before = peer_row(gt, "isac")["rejected"]

    token = isac.env_extra[token_env("gt")]  # what the ISAC presents to GT
    answer = httpx.post(
        federation_objects_url(gt),
        content=orjson.dumps({"objects": [good, *bad]}),
        headers={"Authorization": f"Bearer {token}", "Content-Type": TAXII, "Accept": TAXII},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    status = answer.json()
    assert status["success_count"] == 1, status
    assert status["failure_count"] == len(bad), status
    assert {f["id"] for f in status["failures"]} == {o["id"] for o in bad}
    assert all(f.get("message") for f in status["failures"]), status

    arrive(net, {good["id"]: {"gt"}})
    for obj in bad:
        assert copies(net, obj["id"]) == dict.fromkeys(ALL, 0), obj["name"]
        assert (
            gt.scalar("select count(*) from federation_arrivals where stix_id = :i", i=obj["id"])
            == 0
        )
    assert peer_row(gt, "isac")["rejected"] == rejected_before + len(bad)


def test_kill_9_of_the_middle_node_during_a_sync_loses_and_duplicates_nothing(
    net: Network,
) -> None:
    isac, gt, cr = net["isac"], net["gt"], net["cr"]
    from_isac = [indicator("crash from isac", n) for n in range(40)]
    from_cr = [indicator("crash from cr", n) for n in range(6)]
    failures: list[BaseException] = []

    def publish_all(node: Node, objs: list[dict[str, Any]]) -> None:
        try:
            for obj in objs:
                publish(node, obj, tlp="green", reach="federation")
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    writer = threading.Thread(target=publish_all, args=(isac, from_isac))
    writer.start()
    # Kill GT once it holds some, not all, of the ISAC's objects: mid-sync.
    wait_until(
        lambda: sum(gt.versions_of(o["id"]) for o in from_isac) >= 5,
        timeout=ARRIVE,
        interval=0.05,
        what="the first objects reaching GT",
    )
    gt.kill()
    publish_all(cr, from_cr)  # while GT is down: they reach the hub, and the ISAC later
    writer.join(ARRIVE)
    assert not failures, failures
    gt.start()

    arrive(net, {o["id"]: set(ALL) for o in from_isac + from_cr}, timeout=ARRIVE * 2)
    for obj in from_isac + from_cr:
        assert copies(net, obj["id"]) == dict.fromkeys(ALL, 1), obj["name"]
    for obj in from_isac:
        assert (
            gt.scalar("select count(*) from federation_arrivals where stix_id = :i", i=obj["id"])
            == 1
        )


def test_a_recall_reaches_every_node_and_comes_back_as_receipts(net: Network) -> None:
    isac = net["isac"]
    obj = indicator("to be recalled")
    publish(isac, obj, tlp="amber", reach="federation")
    arrive(net, {obj["id"]: set(ALL)})
    with isac.client() as c:
        assert c.post(f"/api/objects/{obj['id']}/revoke").status_code == 200

    def revoked_everywhere() -> bool:
        return all(
            net[name].scalar(
                "select revoked from stix_objects where stix_id = :i and is_latest", i=obj["id"]
            )
            for name in ALL
        )

    wait_until(revoked_everywhere, timeout=ARRIVE, interval=0.2, what="the revocation")
    for name in ALL:  # every node stops serving it
        with net[name].client() as c:
            listed = c.get("/api/objects", params={"type": "indicator", "limit": 1000}).json()
        assert obj["id"] not in {o["object"]["id"] for o in listed["objects"]}, name
        assert copies(net, obj["id"])[name] == 2, name  # the version and its revocation, once

    tally: dict[str, Any] = {}

    def all_receipts() -> bool:
        with isac.client() as c:
            tally.update(c.get(f"/api/objects/{obj['id']}/receipts").json())
        return tally.get("received") == 3 and tally.get("recalled") == 3

    try:
        wait_until(all_receipts, timeout=ARRIVE, interval=0.3, what="the receipts")
    except Exception:
        pytest.fail(f"receipts at the origin: {tally}\n{logs(net)}")
    assert {n["node"] for n in tally["nodes"]} == {"gt", "hub", "cr"}
    with isac.client() as c:
        meta = c.get(f"/api/objects/{obj['id']}").json()["meta"]
    assert meta["receipts"] == {"received": 3, "recalled": 3}
