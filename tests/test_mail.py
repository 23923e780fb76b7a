"""E-mail goes to a real SMTP server (aiosmtpd on loopback), and failures are one sentence."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from minga.mail import MailError, send_mail
from minga.settings import Settings


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls handle_DATA
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(port: int) -> Settings:
    return Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="csirt@minga.example")


def test_a_message_reaches_the_smtp_server_with_text_and_html(smtp) -> None:
    inbox, port = smtp
    message_id = send_mail(
        _settings(port), ["ana@org.example"], "Alerta: 203.0.113.7", "texto", "<p>html</p>"
    )
    [(rcpt, message)] = inbox.messages
    assert rcpt == ["ana@org.example"]
    assert message["Subject"] == "Alerta: 203.0.113.7"
    assert message["From"] == "csirt@minga.example"
    assert message["Message-ID"] == message_id
    kinds = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in kinds and "text/html" in kinds


def test_no_smtp_server_set_is_a_sentence() -> None:
    with pytest.raises(MailError, match="MINGA_SMTP_HOST"):
        send_mail(Settings(), ["a@b.example"], "s", "t")


def test_a_server_that_is_down_is_a_sentence() -> None:
    port = _free_port()  # nothing listens there
    with pytest.raises(MailError, match="did not take the message"):
        send_mail(_settings(port), ["a@b.example"], "s", "t")


@pytest.mark.parametrize("subject", ["two\nlines", "bcc\r\nBcc: x@y"])
def test_header_injection_is_refused(subject: str, smtp) -> None:
    _, port = smtp
    with pytest.raises(MailError, match="line break"):
        send_mail(_settings(port), ["a@b.example"], subject, "t")
