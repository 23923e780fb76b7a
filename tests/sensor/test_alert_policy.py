"""Who reports and who reviews sensor alerts (`minga.policy`, sensor alerts block)."""

from __future__ import annotations

import pytest

from minga.policy import (
    Principal,
    Role,
    may_report_sensor_alert,
    may_review_sensor_alert,
    may_see_sensor_alert,
)


def _p(role: Role, *, org: int = 1, remote: bool = False) -> Principal:
    return Principal(user_id=1, org_id=org, role=role, identity_ref="identity--x", remote=remote)


@pytest.mark.parametrize(
    ("role", "reports", "reviews"),
    [
        (Role.MACHINE, True, False),
        (Role.ANALYST, True, True),
        (Role.COORDINATOR, True, True),
        (Role.ADMIN, True, True),
        (Role.READER, False, False),
    ],
)
def test_roles(role: Role, reports: bool, reviews: bool):
    assert may_report_sensor_alert(_p(role)) is reports
    assert may_see_sensor_alert(_p(role), 1) is True
    assert may_review_sensor_alert(_p(role), 1) is reviews
    # another organisation's alert: nobody sees or reviews it, the node operator included
    assert may_see_sensor_alert(_p(role, org=2), 1) is False
    assert may_review_sensor_alert(_p(role, org=2), 1) is False


def test_remote_accounts_neither_report_nor_see():
    remote = _p(Role.MACHINE, remote=True)
    assert not may_report_sensor_alert(remote)
    assert not may_see_sensor_alert(remote, 1)


def test_the_sql_filter_says_what_the_rule_says(sessions):
    """`sensor_alert_filter` over stored alerts of two organisations agrees with
    `may_see_sensor_alert` for each kind of principal (both backends)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from sqlalchemy import select

    from minga.policy import sensor_alert_filter
    from minga.sensor import alert_service
    from minga.sensor.alert_models import SensorAlert
    from tests.conftest import add_member

    members = [add_member(sessions, f"Org {n}", role="machine") for n in (1, 2)]
    at = datetime(2025, 12, 2, 10, tzinfo=UTC).isoformat()
    with sessions() as s:
        for m in members:
            alert = {"detector": "dga", "score": 0.5, "reason": "r", "first_seen": at,
                     "last_seen": at}  # fmt: skip
            alert_service.receive(s, m.principal, [alert])
        s.commit()
        rows = list(s.scalars(select(SensorAlert)))
        for m in members:
            for who in (m.principal, replace(m.principal, role=Role.READER),
                        replace(m.principal, remote=True)):  # fmt: skip
                query = select(SensorAlert.id).where(
                    sensor_alert_filter(who, SensorAlert.__table__)
                )
                by_sql = set(s.scalars(query))
                by_rule = {r.id for r in rows if may_see_sensor_alert(who, r.org_id)}
                assert by_sql == by_rule
                assert len(by_rule) == (0 if who.remote else 1)
