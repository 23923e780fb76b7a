"""How each user wants to be told: an e-mail address, a language and an e-mail mode."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from minga.errors import InvalidInput
from minga.events.notify_models import notify_prefs
from minga.policy import Principal

LANGUAGES = ("es", "pt", "en")
OFF, IMMEDIATE, DIGEST = "off", "immediate", "digest"
MODES = (OFF, IMMEDIATE, DIGEST)
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,253}\Z")


@dataclass(frozen=True)
class Prefs:
    user_id: int
    email: str = ""
    language: str = "en"
    mail_mode: str = OFF

    def as_json(self) -> dict[str, str]:
        return {"email": self.email, "language": self.language, "mail_mode": self.mail_mode}


def get(session: Session, user_id: int) -> Prefs:
    row = session.execute(select(notify_prefs).where(notify_prefs.c.user_id == user_id)).first()
    if row is None:
        return Prefs(user_id)
    return Prefs(user_id, row.email, row.language, row.mail_mode)


def set_prefs(
    session: Session,
    principal: Principal,
    *,
    email: str | None = None,
    language: str | None = None,
    mail_mode: str | None = None,
) -> Prefs:
    """Change the caller's own preferences (each field left None keeps its value)."""
    old = get(session, principal.user_id)
    email = old.email if email is None else email.strip()
    language = old.language if language is None else language.strip().lower()
    mail_mode = old.mail_mode if mail_mode is None else mail_mode.strip().lower()
    if email and not EMAIL_RE.match(email):
        raise InvalidInput(f"{email[:80]!r} is not an e-mail address")
    if language not in LANGUAGES:
        raise InvalidInput("the language is es, pt or en")
    if mail_mode not in MODES:
        raise InvalidInput("the e-mail mode is off, immediate or digest")
    if mail_mode != OFF and not email:
        raise InvalidInput("give an e-mail address to receive e-mail")
    values: dict[str, object] = {"email": email, "language": language, "mail_mode": mail_mode}
    if mail_mode == DIGEST and old.mail_mode != DIGEST:
        values["last_digest_at"] = datetime.now(UTC)  # the first digest comes a period later
    exists = select(notify_prefs.c.user_id).where(notify_prefs.c.user_id == principal.user_id)
    if session.scalar(exists) is None:
        session.execute(insert(notify_prefs).values(user_id=principal.user_id, **values))
    else:
        session.execute(
            update(notify_prefs).where(notify_prefs.c.user_id == principal.user_id).values(**values)
        )
    return Prefs(principal.user_id, email, language, mail_mode)
