"""Incidents in the service layer, on both backends: who sees a case, the status workflow and
the automatic timeline, tasks, records, playbooks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from minga.errors import Forbidden, InvalidInput, NotFound
from minga.incidents import playbooks, service, work
from minga.incidents.service import IncidentIn, IncidentQuery
from minga.intel import service as intel
from minga.policy import Reach, Tlp
from tests.incidents.conftest import T0, Community

SCALE = "low,medium,high,very-high"


def _open(s: Session, c: Community, **kw: object) -> int:
    data = IncidentIn(
        title=str(kw.pop("title", "Phishing against bank customers")),
        classification=str(kw.pop("classification", "fraud:phishing")),
        severity=str(kw.pop("severity", "high")),
        **kw,  # type: ignore[arg-type]
    )
    incident = service.create_incident(s, c.victim.principal, data, severity_scale=SCALE, at=T0)
    s.commit()
    return incident.id


def _visible(s: Session, who: object, incident_id: int) -> bool:
    try:
        service.get_incident(s, who.principal, incident_id)  # type: ignore[attr-defined]
    except NotFound:
        return False
    return True


def test_who_sees_an_incident(sessions: sessionmaker[Session], community: Community) -> None:
    c = community
    with sessions() as s:
        amber = _open(s, c, tlp="amber", assigned_org_ids=[c.isac.org_id])
        red = _open(s, c, tlp="red", title="Red case")
        assert [_visible(s, m, amber) for m in (c.victim, c.isac, c.csirt, c.outsider)] == [
            True,
            True,  # assigned
            True,  # the coordinator of the node
            False,
        ]
        # TLP:RED stays with the organisations named: not even the coordinator.
        assert [_visible(s, m, red) for m in (c.victim, c.isac, c.csirt, c.outsider)] == [
            True,
            False,
            False,
            False,
        ]
        listed = {
            m: {i.id for i in service.list_incidents(s, getattr(c, m).principal, IncidentQuery())}
            for m in ("victim", "isac", "csirt", "outsider")
        }
        assert listed == {
            "victim": {amber, red},
            "isac": {amber},
            "csirt": {amber},
            "outsider": set(),
        }
        # Unknown and hidden answer alike.
        with pytest.raises(NotFound) as hidden:
            service.get_incident(s, c.outsider.principal, amber)
        with pytest.raises(NotFound) as unknown:
            service.get_incident(s, c.outsider.principal, 999_999)
        assert str(hidden.value).replace(str(amber), "N") == str(unknown.value).replace(
            "999999", "N"
        )


def test_status_workflow_and_automatic_timeline(
    sessions: sessionmaker[Session], community: Community
) -> None:
    c = community
    with sessions() as s:
        iid = _open(s, c)
        p = c.victim.principal
        for n, status in enumerate(["triage", "in-progress", "contained", "resolved", "closed"]):
            service.set_status(s, p, iid, status, at=T0 + timedelta(hours=n + 1))
        s.commit()
        incident = service.get_incident(s, p, iid)
        assert service.aware(incident.contained_at) == T0 + timedelta(hours=3)
        assert service.aware(incident.closed_at) == T0 + timedelta(hours=5)
        with pytest.raises(InvalidInput, match="from closed"):
            service.set_status(s, p, iid, "in-progress", at=T0)
        kinds = [(e.kind, e.text) for e in service.timeline(s, p, iid)]
        assert kinds[0] == ("created", "opened: Phishing against bank customers")
        assert kinds[-1] == ("status", "status: resolved → closed")
        assert len(kinds) == 6


def test_bad_input_is_refused(sessions: sessionmaker[Session], community: Community) -> None:
    c = community
    with sessions() as s:
        with pytest.raises(InvalidInput, match="unknown classification"):
            _open(s, c, classification="made-up:thing")
        with pytest.raises(InvalidInput, match="unknown severity"):
            _open(s, c, severity="apocalyptic")
        with pytest.raises(InvalidInput, match="ISO"):
            _open(s, c, countries=["Costa Rica"])
        iid = _open(s, c, tlp="amber")
        # A case the outsider cannot see is not found; one it sees but is not named in, forbidden.
        with pytest.raises(NotFound):
            service.add_entry(s, c.outsider.principal, iid, "hello", at=T0)
        with pytest.raises(Forbidden):
            service.add_entry(s, c.csirt.principal, iid, "coordinator note", at=T0)
        # Only the holder lowers the TLP.
        service.set_named(s, c.victim.principal, iid, c.isac.org_id, "assigned", at=T0)
        with pytest.raises(Forbidden, match="lower"):
            service.update_incident(
                s, c.isac.principal, iid, {"tlp": "green"}, severity_scale=SCALE, at=T0
            )


def test_records_tasks_and_playbook(sessions: sessionmaker[Session], community: Community) -> None:
    c = community
    with sessions() as s:
        iid = _open(s, c, assigned_org_ids=[c.isac.org_id])
        ind = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-03-01T00:00:00.000Z",
            "modified": "2026-03-01T00:00:00.000Z",
            "pattern": "[domain-name:value = 'banco-victima-login.example']",
            "pattern_type": "stix",
            "valid_from": "2026-03-01T00:00:00Z",
        }
        intel.create_objects(s, c.victim.principal, [ind], tlp=Tlp.AMBER, reach=Reach.COMMUNITY)
        victim = c.victim.principal
        work.link_record(s, victim, iid, ind["id"], tlp="amber+strict", pap="red", at=T0)
        s.commit()
        # Named organisations see the record; the coordinator not at AMBER+STRICT.
        assert [r.stix_id for r in work.records_of(s, c.isac.principal, iid)] == [ind["id"]]
        assert work.records_of(s, c.csirt.principal, iid) == []
        assert [i.id for i in work.incidents_holding(s, c.isac.principal, ind["id"])] == [iid]
        assert work.incidents_holding(s, c.csirt.principal, ind["id"]) == []
        assert work.incidents_holding(s, c.outsider.principal, ind["id"]) == []

        made = playbooks.apply_playbook(s, c.isac.principal, iid, "phishing", "es", at=T0)
        s.commit()
        book = playbooks.get_playbook("phishing")
        assert [t.title for t in made] == [title for _, title in book.tasks("es")]
        assert made[0].title == "Obtener el mensaje con los encabezados completos"
        assert {t.phase for t in made} == {"detect", "respond", "recover", "improve"}
        # A task for the ISAC with nobody named shows in the ISAC's "my tasks".
        mine = work.my_tasks(s, c.isac.principal)
        assert len(mine) == len(made) and all(i.id == iid for _, i in mine)
        work.set_task_done(s, c.isac.principal, made[0].id, True, at=T0)
        s.commit()
        assert len(work.my_tasks(s, c.isac.principal)) == len(made) - 1
