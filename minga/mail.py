"""Sending e-mail through the node's SMTP server (`MINGA_SMTP_*`).

One function every domain uses (notifications, digests, exercise injects), so the SMTP
conversation, its errors and its settings live in one place. The standard library's smtplib
does the job; callers run it in a worker or background thread, never on the event loop.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from minga.settings import Settings

TIMEOUT_SECONDS = 20


class MailError(Exception):
    """The message could not be handed to the SMTP server: one sentence, safe to log and show."""


def enabled(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def build_message(
    settings: Settings, to: list[str], subject: str, text: str, html: str | None = None
) -> EmailMessage:
    if not to:
        raise MailError("an e-mail needs at least one recipient")
    if any("\n" in x or "\r" in x for x in [subject, *to]):
        raise MailError("a subject or recipient may not contain a line break")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_mail(
    settings: Settings, to: list[str], subject: str, text: str, html: str | None = None
) -> str:
    """Hand one message to the SMTP server; its Message-ID. `MailError` when it cannot."""
    if not enabled(settings):
        raise MailError("no SMTP server is set (MINGA_SMTP_HOST)")
    message = build_message(settings, to, subject, text, html)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"the SMTP server {settings.smtp_host}:{settings.smtp_port} did not take the"
            f" message: {exc}"
        ) from exc
    if refused:
        raise MailError(f"the SMTP server refused {', '.join(sorted(refused))}")
    return str(message["Message-ID"])
