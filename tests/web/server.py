"""A real node (uvicorn on 127.0.0.1, random port) on a temp SQLite database with the demo data."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from minga.accounts import service as accounts
from minga.accounts import signin
from minga.app import create_app
from minga.db import make_engine, make_sessionmaker, unit_of_work
from minga.demo.loader import community, load
from minga.migrate import upgrade
from minga.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class DemoNode:
    url: str
    db_url: str
    tokens: dict[str, str]  # user name -> API token
    passwords: dict[str, str] = field(default_factory=dict)  # every demo person's password
    totp: dict[str, str] = field(default_factory=dict)  # TOTP secrets read at enrolment
    states: dict[str, Any] = field(default_factory=dict)  # signed-in browser storage states


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def demo_node(directory: Path) -> Iterator[DemoNode]:
    db_url = f"sqlite:///{directory / 'minga.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    passwords: dict[str, str] = {}
    with unit_of_work(make_sessionmaker(engine)) as session:
        result = load(session)
        for person in community()["users"]:
            passwords[person["name"]] = signin.generate_password()
            user = accounts.find_user(session, person["name"])
            signin.set_password(session, user.id, passwords[person["name"]])
    port = _free_port()
    settings = Settings(database_url=db_url, port=port, log_level="warning")
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test node did not start")
        time.sleep(0.05)
    try:
        tokens = {u: t for _, u, t in result.tokens}
        yield DemoNode(f"http://127.0.0.1:{port}", db_url, tokens, passwords)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def sign_in_page(page: Any, node: DemoNode, user: str) -> None:
    """Sign a Playwright page in through the forms: password, then the authenticator code.

    A person's first sign-in enrols the app: the secret is read from the page (as a person
    would type it into their app) and the recovery codes page is passed.
    """
    import pyotp

    page.goto(node.url + "/signin")
    page.fill("#name", user)
    page.fill("#password", node.passwords[user])
    page.press("#password", "Enter")
    page.wait_for_url("**/signin/*")
    if "/signin/enrol" in page.url:
        node.totp[user] = page.input_value("#secret").replace(" ", "")
    page.fill("#code", pyotp.TOTP(node.totp[user]).now())
    page.press("#code", "Enter")
    if "/signin/enrol" in page.url:
        page.wait_for_selector("ul.codes")
        page.click("a.button")
    page.wait_for_url(node.url + "/")
