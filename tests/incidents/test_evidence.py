"""Incidents count as evidence of national capacity (CMM D1.2) and as a situation-report trend,
only over incidents the reader may see; both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from minga.assessments import evidence, sitrep
from minga.incidents import service
from minga.incidents.service import IncidentIn
from tests.incidents.conftest import Community

SCALE = "low,medium,high,very-high"


def _open(s: Session, c: Community, title: str, tlp: str) -> int:
    data = IncidentIn(title=title, classification="fraud:phishing", severity="high", tlp=tlp)
    now = datetime.now(UTC)
    return service.create_incident(s, c.victim.principal, data, severity_scale=SCALE, at=now).id


def test_incidents_are_evidence_for_incident_response_counted_over_visible_ones(
    sessions: sessionmaker[Session], community: Community
) -> None:
    c = community
    with sessions() as s:
        _open(s, c, "Phishing wave", "amber")
        _open(s, c, "Ransomware at the bank", "amber")
        _open(s, c, "Insider case", "red")  # the coordinator does not see TLP:RED incidents
        s.commit()
    with sessions() as s:
        as_victim = evidence.for_country(s, c.victim.principal, "CR")
        as_csirt = evidence.for_country(s, c.csirt.principal, "CR")
        as_outsider = evidence.for_country(s, c.outsider.principal, "CR")
    (mine,) = [link for link in as_victim["D1.2"] if link.kind == "incidents"]
    assert mine.count == 3
    assert mine.label == "Banco Victima: 3 incidents handled in 365 days, 0 resolved"
    (seen,) = [link for link in as_csirt["D1.2"] if link.kind == "incidents"]
    assert seen.count == 2
    assert not [link for link in as_outsider.get("D1.2", []) if link.kind == "incidents"]


def test_the_situation_report_counts_incidents_per_organisation(
    sessions: sessionmaker[Session], community: Community
) -> None:
    c = community
    with sessions() as s:
        _open(s, c, "Phishing wave", "amber")
        s.commit()
    since = datetime.now(UTC) - timedelta(days=1)
    with sessions() as s:
        counted = sitrep.TRENDS["incidents"].count(s, c.csirt.principal, since)
        none_yet = sitrep.TRENDS["incidents"].count(
            s, c.csirt.principal, datetime.now(UTC) + timedelta(days=1)
        )
    assert counted == {c.victim.org_id: 1}
    assert none_yet == {}
