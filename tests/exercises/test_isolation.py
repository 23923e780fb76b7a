"""Exercise content never mixes with real intelligence: absent from real object lists,
incident lists, correlation and federation (unless the exercise itself is federated)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from minga.correlate.lookup import lookup
from minga.events import items, outbox
from minga.exercises import play, run, service
from minga.federation.keys import node_identity
from minga.federation.serve import select_for_peer
from minga.incidents import service as incidents
from minga.incidents.evidence import _counts
from minga.intel import service as intel
from minga.intel.queries import ObjectQuery, list_objects
from minga.policy import Reach
from tests.exercises.conftest import SCALE, T0, Drill, at_minute
from tests.federation.test_receipts import add_peer, node

VALUE = "203.0.113.45"


def indicator(n: int, value: str, **extra: Any) -> dict[str, Any]:
    stamp = "2026-05-08T14:00:00.000Z"
    return {"type": "indicator", "spec_version": "2.1", "created": stamp, "modified": stamp,
            "id": f"indicator--00000000-0000-4000-8000-{n:012d}", "valid_from": stamp,
            "pattern": f"[ipv4-addr:value = '{value}']", "pattern_type": "stix",
            **extra}  # fmt: skip


def _run_drill(s: Session, d: Drill, exercise_id: int) -> None:
    ctx = run.RunContext(severity_scale=SCALE)
    service.change_state(s, d.director.principal, exercise_id, "start", at=T0)
    run.tick(s, service.get_exercise(s, d.director.principal, exercise_id), at_minute(20), ctx)


def test_exercise_content_stays_out_of_real_paths(
    sessions: sessionmaker[Session], drill: Drill
) -> None:
    a = drill.team_a
    with sessions() as s:
        _run_drill(s, drill, drill.exercise_id)
        play.publish(s, a.principal, drill.exercise_id, [indicator(1, VALUE)], at=at_minute(21))
        play.open_incident(
            s, a.principal, drill.exercise_id,
            incidents.IncidentIn(title="drill case", classification="other:other", severity="low"),
            severity_scale=SCALE, at=at_minute(22),
        )  # fmt: skip
        # Real work of the same organisation, and a real report of the same value.
        intel.create_objects(s, a.principal, [indicator(2, "198.51.100.7")], reach=Reach.FEDERATION)
        intel.create_objects(s, drill.outsider.principal, [indicator(3, VALUE)])
        real = incidents.create_incident(
            s, a.principal,
            incidents.IncidentIn(title="real case", classification="other:other", severity="low"),
            severity_scale=SCALE, at=at_minute(23),
        )  # fmt: skip
        s.commit()
    with sessions() as s:
        ex = service.get_exercise(s, a.principal, drill.exercise_id)
        for who in (a, drill.director, drill.outsider):
            ids = {
                o.stix_id for o in list_objects(s, who.principal, ObjectQuery(), limit=1000).items
            }
            assert not any(
                i.startswith("indicator--00000000-0000-4000-8000-000000000001") for i in ids
            )
            assert all("x_minga_exercise" not in o for o in _raw(s, who, ids))
        assert indicator(2, "")["id"] in {
            o.stix_id for o in list_objects(s, a.principal, ObjectQuery(), limit=1000).items
        }
        titles = [
            i.title for i in incidents.list_incidents(s, a.principal, incidents.IncidentQuery())
        ]
        assert titles == ["real case"] and real.exercise is None
        # Streams, webhooks and e-mail announce the real versions alone.
        announced = {i.stix_id for i in items.load(s, outbox.read_after(s, 0, limit=10_000))}
        assert indicator(2, "")["id"] in announced and indicator(1, "")["id"] not in announced
        # Nor do drills count as evidence of capacity (incidents handled per organisation).
        held = _counts(s, a.principal, T0 - timedelta(days=1), [a.org_id])
        assert held == {a.org_id: (1, 0)}
        # Correlation counts the outsider's real report alone.
        [found] = lookup(s, a.principal, [VALUE])
        assert found.objects == 1 and found.reported_by == ["Otra Empresa"]
        # The exercise space itself holds both indicators and both kinds of incident.
        space = play.exercise_objects(s, drill.director.principal, ex)
        assert {o["x_minga_exercise"] for o in space} == {ex.ref} and len(space) == 2
        mine = play.exercise_objects(s, a.principal, ex)
        assert {o["id"] for o in mine} == {o["id"] for o in space}  # delivered + its own
        assert len(play.exercise_objects(s, drill.team_b.principal, ex)) == 1  # delivered only
        assert {i.title for i in play.exercise_incidents(s, a.principal, ex)} >= {
            "[EXERCISE] drill case"
        }


def _raw(s: Session, who: Any, ids: set[str]) -> list[dict[str, Any]]:
    from minga.intel.queries import get_object

    return [get_object(s, who.principal, i).object() for i in ids]


def test_federation_carries_only_a_federated_exercise(
    sessions: sessionmaker[Session], drill: Drill
) -> None:
    with sessions() as s:
        peer = add_peer(s, node("peer-gt"))
        sc = service.get_scenario(s, "costa-rica-2022-ransomware")
        shared = service.create_exercise(
            s, drill.director.principal, scenario_id=sc.id, name="Regional drill", lang="en",
            speed=60, team_org_ids=[drill.team_a.org_id], federated=True, at=T0,
        )  # fmt: skip
        _run_drill(s, drill, drill.exercise_id)
        _run_drill(s, drill, shared.id)
        play.publish(s, drill.team_a.principal, drill.exercise_id, [indicator(4, VALUE)],
                     at=at_minute(21))  # fmt: skip
        intel.create_objects(s, drill.team_a.principal, [indicator(5, "198.51.100.9")],
                             reach=Reach.FEDERATION)  # fmt: skip
        s.commit()
    with sessions() as s:
        me = node_identity(s, name="hub", url="")
        out = select_for_peer(s, s.merge(peer), me, after_us=0, limit=100)
        sent = {o["id"]: o for o in out.objects if o["type"] == "indicator"}
        private = service.get_exercise(s, drill.director.principal, drill.exercise_id).ref
        assert indicator(5, "")["id"] in sent
        assert all(o.get("x_minga_exercise") != private for o in sent.values())
        federated = [o for o in sent.values() if o.get("x_minga_exercise") == shared.ref]
        assert len(federated) == 1 and federated[0]["x_minga_exercise_federated"] is True
