"""Passwords, TOTP steps and replay, recovery codes, the rate-limit clock (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts import signin, websessions
from minga.accounts.models import Credential
from tests.conftest import add_member

T0 = 1_800_000_000.0  # a fixed clock, at the start of a 30 s step


def test_password_rules():
    assert signin.password_problem("short", "ana", 12) == "too-short"
    assert signin.password_problem("iloveyou1234", "ana", 12) == "common"
    assert signin.password_problem("aaaaaaaaaaaaaaa", "ana", 12) == "common"
    assert signin.password_problem("ana.rojas-la-mejor", "ana.rojas", 12) == "name"
    assert signin.password_problem("gallo pinto con natilla", "ana.rojas", 12) is None


def test_passwords_are_argon2id_and_checked(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        assert signin.check_password(s, "org-a-analyst", "anything at all") is None
        signin.set_password(s, a.user_id, "gallo pinto con natilla")
        s.commit()
        stored = s.get(Credential, a.user_id)
        assert stored is not None and stored.password_hash is not None
        assert stored.password_hash.startswith("$argon2id$")
        assert "natilla" not in stored.password_hash
        user = signin.check_password(s, "org-a-analyst", "gallo pinto con natilla")
        assert user is not None and user.id == a.user_id
        assert signin.check_password(s, "org-a-analyst", "gallo pinto con natilla ") is None
        assert signin.check_password(s, "nobody", "gallo pinto con natilla") is None
        accounts.set_user_active(s, None, a.user_id, False)
        assert signin.check_password(s, "org-a-analyst", "gallo pinto con natilla") is None


def test_totp_window_is_one_step_either_way_and_a_code_works_once(
    sessions: sessionmaker[Session],
):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        secret = signin.start_enrolment(s, a.user_id)
        assert signin.check_second_factor(s, a.user_id, "123456", now=T0) is None  # not enrolled
        totp = pyotp.TOTP(secret)
        assert signin.confirm_enrolment(s, a.user_id, totp.at(T0 - 60), now=T0) is None
        codes = signin.confirm_enrolment(s, a.user_id, totp.at(T0), now=T0)
        assert codes is not None and len(codes) == 10
        s.commit()
        # The enrolment code is used up; the next step's code works, once.
        assert signin.check_second_factor(s, a.user_id, totp.at(T0), now=T0) is None
        assert signin.check_second_factor(s, a.user_id, totp.at(T0 + 30), now=T0) == "totp"
        assert signin.check_second_factor(s, a.user_id, totp.at(T0 + 30), now=T0) is None
        # An older step is refused once a newer one was used; two steps ahead is too far.
        assert signin.check_second_factor(s, a.user_id, totp.at(T0 - 30), now=T0 + 60) is None
        assert signin.check_second_factor(s, a.user_id, totp.at(T0 + 120), now=T0 + 60) is None
        assert signin.check_second_factor(s, a.user_id, totp.at(T0 + 90), now=T0 + 60) == "totp"
        s.commit()


def test_recovery_codes_are_hashed_and_single_use(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        secret = signin.start_enrolment(s, a.user_id)
        codes = signin.confirm_enrolment(s, a.user_id, pyotp.TOTP(secret).at(T0), now=T0)
        assert codes is not None
        s.commit()
        from sqlalchemy import select

        from minga.accounts.models import RecoveryCode

        stored = set(s.scalars(select(RecoveryCode.code_hash)))
        assert len(stored) == 10 and not stored & set(codes)
        assert signin.recovery_codes_left(s, a.user_id) == 10
        assert signin.check_second_factor(s, a.user_id, codes[0].replace("-", " "), T0) == (
            "recovery"
        )
        assert signin.check_second_factor(s, a.user_id, codes[0], T0) is None
        assert signin.recovery_codes_left(s, a.user_id) == 9
        fresh = signin.new_recovery_codes(s, a.user_id)
        assert signin.check_second_factor(s, a.user_id, codes[1], T0) is None  # replaced
        assert signin.check_second_factor(s, a.user_id, fresh[1], T0) == "recovery"
        signin.reset_totp(s, a.user_id)
        assert not signin.has_totp(s, a.user_id)
        assert signin.recovery_codes_left(s, a.user_id) == 0
        s.commit()


def test_retry_after_counts_from_the_oldest_failure_in_the_window(
    sessions: sessionmaker[Session],
):
    limits = signin.Limits(per_account=3, per_address=100, window_seconds=600)
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    with sessions() as s:
        for minutes in (9, 5, 1):
            signin.record_failure(s, "Ana", "192.0.2.1", limits, now - timedelta(minutes=minutes))
        s.commit()
        assert signin.retry_after(s, "ana", "192.0.2.9", limits, now) == 61
        assert signin.retry_after(s, "ana", "192.0.2.9", limits, now + timedelta(seconds=61)) == 0
        assert signin.retry_after(s, "maria", "192.0.2.9", limits, now) == 0
        signin.reset_failures(s, "ANA")
        assert signin.retry_after(s, "ana", "192.0.2.9", limits, now) == 0
        s.commit()


def test_web_sessions_end_and_expire(sessions: sessionmaker[Session]):
    a = add_member(sessions, "Org A")
    with sessions() as s:
        opened = websessions.open_session(
            s, a.user_id, stage="code", method="password", address="", user_agent="", hours=1
        )
        assert websessions.list_sessions(s, a.user_id) == []  # a half session is not listed
        row = opened.row
        key = websessions.complete(s, row, hours=1)
        assert websessions.find(s, opened.key) is None  # the pre-code key is dead
        found = websessions.find(s, key)
        assert found is not None and found[0].stage == "complete"
        assert [r.id for r in websessions.list_sessions(s, a.user_id)] == [row.id]
        assert websessions.end_all(s, a.user_id) == 1
        assert websessions.find(s, key) is None
        s.commit()
