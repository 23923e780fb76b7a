"""E-mail injects: always in the team's exercise inbox; by SMTP too when the node sends mail
(`MINGA_SMTP_HOST`) and the team gave an address for the exercise."""

from __future__ import annotations

from minga import mail
from minga.exercises.run import Mailer
from minga.settings import Settings


def mailer_for(settings: Settings) -> Mailer | None:
    if not mail.enabled(settings):
        return None

    def send(to: list[str], subject: str, text: str) -> None:
        mail.send_mail(settings, to, subject, text)

    return send
