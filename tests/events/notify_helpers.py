"""Real receivers for the notify tests: an HTTP server on loopback that checks webhook
signatures (and can fail its first requests), and an aiosmtpd inbox."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from minga.events.webhooks import SIGNATURE_HEADER, verify


class Receiver:
    """A webhook receiver: records each POST, answers 500 to its first `fail_first`."""

    def __init__(self, fail_first: int = 0) -> None:
        self.secret = ""
        self.fail_first = fail_first
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.calls = 0
        self.lock = threading.Lock()

    def handle(self, headers: Any, body: bytes) -> int:
        with self.lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                return 500
            if not verify(self.secret, headers.get(SIGNATURE_HEADER, ""), body):
                self.bad_signatures += 1
                return 401
            self.received.append(
                {
                    "body": json.loads(body),
                    "event": headers.get("Minga-Event"),
                    "delivery": headers.get("Minga-Delivery"),
                }
            )
            return 204


@contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    """Serve `receiver` on 127.0.0.1; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(receiver.handle(self.headers, body))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def parts(message: Message) -> dict[str, str]:
    """The text and HTML parts of a message, decoded."""
    found = {}
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found
