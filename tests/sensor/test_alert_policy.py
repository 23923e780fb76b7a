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
