"""E-mail of notifications: immediate, or a daily digest, in the recipient's language.

The consumer `notify.mail` turns each notification event into one row per recipient who
asked for e-mail (and may see the evidence), in its cursor's transaction; the sender hands
the rows to `minga.mail.send_mail` outside any transaction: an immediate row as its own
message, digest rows of a user together once per `MINGA_DIGEST_SECONDS`. Each message has a
plain-text and an HTML part, rendered from `minga/web/templates/notify/` with the catalog of
the recipient's language (`notify.po`).
"""

from __future__ import annotations

import gettext as gettext_module
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.models import User
from minga.events import prefs
from minga.events.notify_models import notify_mail, notify_prefs
from minga.events.outbox import Event
from minga.events.webhook_queue import evidence_marking
from minga.mail import MailError, enabled, send_mail
from minga.policy import may_receive_notification
from minga.settings import Settings

CONSUMER = "notify.mail"
PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_ATTEMPTS = 5

_env: dict[str, Any] = {}
_env_lock = threading.Lock()


def _environment() -> tuple[Environment, dict[str, gettext_module.NullTranslations]]:
    with _env_lock:
        if not _env:
            from minga.web import i18n

            env = Environment(
                loader=PackageLoader("minga.web", "templates"),
                autoescape=select_autoescape(["html"]),
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
            )
            _env.update(env=env, catalogs=i18n.load_catalogs())
        return _env["env"], _env["catalogs"]


def render(settings: Settings, language: str, notes: list[dict[str, Any]]) -> tuple[str, str, str]:
    """(subject, text, html) of a message telling `notes` (notification payloads)."""
    env, catalogs = _environment()
    catalog = catalogs.get(language) or catalogs["en"]
    values = {"notes": notes, "node": settings.node_name, "base": settings.public_url}
    with _env_lock:  # the environment's gettext is per language: one render at a time
        env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
        subject = env.get_template("notify/mail_subject.txt").render(values).strip()
        text = env.get_template("notify/mail.txt").render(values)
        html = env.get_template("notify/mail.html").render(values)
    return " ".join(subject.split()), text, html


def queue(session: Session, batch: list[Event]) -> int:
    """The `cursors.drain` handler: one row per recipient who wants e-mail and may see it."""
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for event in batch:
        payload = event.payload
        query = (
            select(User, notify_prefs.c.mail_mode)
            .join(notify_prefs, notify_prefs.c.user_id == User.id)
            .where(
                User.org_id == payload.get("recipient_org_id"),
                User.active,
                notify_prefs.c.mail_mode != prefs.OFF,
                notify_prefs.c.email != "",
            )
        )
        if payload.get("recipient_user_id") is not None:
            query = query.where(User.id == payload["recipient_user_id"])
        recipients = session.execute(query).all()
        if not recipients:
            continue
        marking = evidence_marking(session, payload)
        for user, mode in recipients:
            reader = accounts.principal_for(session, user)
            if marking is None or not may_receive_notification(reader, marking):
                continue
            rows.append(
                {
                    "user_id": user.id,
                    "seq": event.seq,
                    "mode": mode,
                    "payload": orjson.dumps(payload).decode(),
                    "status": PENDING,
                    "attempts": 0,
                    "error": "",
                    "created_at": now,
                }
            )
    if rows:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(notify_mail).on_conflict_do_nothing(), rows)
    return len(rows)


def _send(settings: Settings, to: str, language: str, rows: list[Any]) -> str:
    subject, text, html = render(settings, language, [orjson.loads(r.payload) for r in rows])
    try:
        send_mail(settings, [to], subject, text, html)
    except MailError as exc:
        return str(exc)[:500]
    return ""


def send_due(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> int:
    """Send immediate e-mail, and the digests that are due; how many messages went out."""
    if not enabled(settings):
        return 0
    now = now or datetime.now(UTC)
    with sessions() as session:
        pending = session.execute(
            select(
                notify_mail,
                notify_prefs.c.email,
                notify_prefs.c.language,
                notify_prefs.c.last_digest_at,
            )
            .join(notify_prefs, notify_prefs.c.user_id == notify_mail.c.user_id)
            .where(notify_mail.c.status == PENDING)
            .order_by(notify_mail.c.id)
            .limit(2000)
        ).all()
    messages: list[tuple[Any, list[Any]]] = []
    digests: dict[int, list[Any]] = {}
    cutoff = now - timedelta(seconds=settings.digest_seconds)
    for row in pending:
        if row.mode == prefs.IMMEDIATE:
            messages.append((row, [row]))
            continue
        last = row.last_digest_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        if last is None or last <= cutoff:
            digests.setdefault(row.user_id, []).append(row)
    messages.extend((rows[0], rows) for rows in digests.values())
    sent = 0
    for head, rows in messages:
        error = _send(settings, head.email, head.language, rows)
        with sessions() as session:
            for row in rows:
                tried = row.attempts + 1
                status = SENT if not error else FAILED if tried >= MAX_ATTEMPTS else PENDING
                session.execute(
                    update(notify_mail)
                    .where(notify_mail.c.id == row.id)
                    .values(
                        status=status,
                        attempts=tried,
                        error=error,
                        sent_at=now if not error else None,
                    )
                )
            if not error and head.mode == prefs.DIGEST:
                session.execute(
                    update(notify_prefs)
                    .where(notify_prefs.c.user_id == head.user_id)
                    .values(last_digest_at=now)
                )
            session.commit()
        sent += not error
    return sent
