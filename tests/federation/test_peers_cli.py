"""`minga node show`, `minga peer ...` and `/api/peers` against a real `minga serve` peer,
on both backends for this node."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from minga.accounts.tokens import TokenVerifier
from minga.cli import app
from minga.federation import peers
from minga.federation.keys import display_fingerprint
from tests.conftest import add_member
from tests.federation.peerkit import FINGERPRINT, ServedNode, init_node, served_node
from tests.intel.served import free_port

runner = CliRunner()
TOKEN = re.compile(r"mg_[0-9a-f]{12}_[A-Za-z0-9_-]+")
WRONG = " ".join(["abcd"] * 16)


@pytest.fixture(scope="module")
def gt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    with served_node(tmp_path_factory.mktemp("gt")) as node:
        yield node


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    monkeypatch.setenv("MINGA_NODE_NAME", "csirt-cr")
    monkeypatch.setenv("MINGA_PUBLIC_URL", "https://minga.csirt.cr/")
    return db_url


def minga(*args: str) -> tuple[int, str]:
    done = runner.invoke(app, list(args))
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, " ".join(done.output.split())  # rich wraps long sentences


def test_node_show_matches_the_served_identity(gt: ServedNode):
    doc = httpx.get(f"{gt.url}/federation/node").json()
    assert display_fingerprint(doc["fingerprint"]) == gt.fingerprint
    assert doc["name"] == "csirt-gt" and doc["url"] == gt.url
    assert "csirt-gt" in gt.show and gt.url in gt.show
    assert doc["public_key"] in gt.show.replace("\n", "")
    assert doc["organisation"]["name"] == "CSIRT GT"


def test_node_show_on_this_node(env: str):
    assert minga("init")[0] == 0
    code, output = minga("node", "show")
    assert code == 0
    assert "csirt-cr" in output and "https://minga.csirt.cr" in output
    assert FINGERPRINT.search(output) is not None


def test_peer_commands(env: str, gt: ServedNode, sessions: sessionmaker[Session]):
    assert minga("init")[0] == 0
    assert "No peers yet" in minga("peer", "list")[1]
    code, output = minga(
        "peer", "add", "csirt-gt", gt.url, "--fingerprint", WRONG, "--token-env", "GT_TOKEN"
    )
    assert code == 2 and "compare the fingerprint" in output and "Traceback" not in output
    code, output = minga(
        "peer", "add", "csirt-gt", gt.url,
        "--fingerprint", gt.fingerprint, "--direction", "push", "--token-env", "GT_TOKEN",
    )  # fmt: skip
    assert code == 0, output
    assert "pinned" in output and "peer-csirt-gt" in output
    tokens = TOKEN.findall(output)
    assert len(tokens) == 1
    with sessions() as s:
        assert TokenVerifier(0).verify(s, tokens[0]).principal.user_name == "peer-csirt-gt"
    code, output = minga("peer", "list")
    assert code == 0 and "csirt-gt" in output and "pinned" in output
    code, output = minga("peer", "status", "csirt-gt")
    assert code == 0, output
    assert "last contact:" in output and "never" in output
    assert re.search(r"backlog:\s+1\b", output)  # this node's operator identity is owed
    assert "sent / received / rejected: 0 / 0 / 0" in output
    assert "csirt-gt" in minga("peer", "status")[1]
    code, output = minga("org", "list")
    assert code == 0 and "CSIRT GT" in output and "remote" in output  # table cells may wrap
    code, output = minga("peer", "add", "csirt-gt", gt.url, "--fingerprint", gt.fingerprint,
                         "--token-env", "GT_TOKEN")  # fmt: skip
    assert code == 2 and "already exists" in output
    code, output = minga("peer", "add", "csirt-gt2", gt.url, "--fingerprint", "xyz",
                         "--token-env", "GT_TOKEN")  # fmt: skip
    assert code == 2 and "64 hexadecimal digits" in output
    code, output = minga("peer", "remove", "csirt-gt")
    assert code == 0 and "removed" in output
    with sessions() as s:
        assert peers.list_peers(s) == []
    code, output = minga("peer", "status", "csirt-gt")
    assert code == 2 and "no peer named 'csirt-gt'" in output


def test_an_unreachable_peer_is_added_unpinned(env: str, gt: ServedNode):
    assert minga("init")[0] == 0
    code, output = minga(
        "peer", "add", "csirt-gt", f"http://127.0.0.1:{free_port()}",
        "--fingerprint", gt.fingerprint, "--direction", "pull", "--token-env", "GT_TOKEN",
        "--country", "GT", "--sector", "government",
    )  # fmt: skip
    assert code == 0, output
    assert "at first contact" in output and len(TOKEN.findall(output)) == 1
    code, output = minga("peer", "status", "csirt-gt")
    assert "not yet seen" in output and "not pushed to" in output


# -- REST ----------------------------------------------------------------------------------


def test_rest_peers(client, sessions: sessionmaker[Session], gt: ServedNode, tmp_path: Path):
    operator = init_node(sessions)
    other_admin = add_member(sessions, "Banco", role="admin")
    body = {
        "name": "csirt-gt",
        "url": gt.url,
        "fingerprint": gt.fingerprint,
        "direction": "both",
        "token_env": "GT_TOKEN",
    }
    assert client.get("/api/peers").status_code == 401
    for method, path in [("GET", "/api/peers"), ("GET", "/api/peers/csirt-gt")]:
        r = client.request(method, path, headers=other_admin.headers)
        assert r.status_code == 403, r.text
    r = client.post("/api/peers", json=body, headers=other_admin.headers)
    assert r.status_code == 403
    r = client.post("/api/peers", json={**body, "fingerprint": WRONG}, headers=operator.headers)
    assert r.status_code == 422 and "compare the fingerprint" in r.json()["message"]
    r = client.post("/api/peers", json={**body, "direction": "up"}, headers=operator.headers)
    assert r.status_code == 422 and "direction" in r.json()["message"]
    r = client.post("/api/peers", json={"name": "x"}, headers=operator.headers)
    assert r.status_code == 422
    assert client.get("/api/peers", headers=operator.headers).json() == []
    r = client.post("/api/peers", json=body, headers=operator.headers)
    assert r.status_code == 201, r.text
    added = r.json()
    assert added["pinned"] and added["machine_account"] == "peer-csirt-gt"
    assert added["organisation"] == "CSIRT GT" and added["backlog"] == 2  # two identities
    assert TOKEN.fullmatch(added["token"])
    # The machine account's token is a working token here (the peer pushes and pulls with it).
    me = client.get("/api/me", headers={"Authorization": f"Bearer {added['token']}"}).json()
    assert me["organisation"]["remote_node"] == "csirt-gt"
    listed = client.get("/api/peers", headers=operator.headers).json()
    assert [p["name"] for p in listed] == ["csirt-gt"] and "token" not in listed[0]
    one = client.get("/api/peers/csirt-gt", headers=operator.headers).json()
    assert one["fingerprint"] == gt.fingerprint.replace(" ", "")
    assert one["last_contact_at"] is None and one["sent"] == 0
    assert client.post("/api/peers", json=body, headers=operator.headers).status_code == 409
    assert client.get("/api/peers/nobody", headers=operator.headers).status_code == 404
    r = client.delete("/api/peers/csirt-gt", headers=other_admin.headers)
    assert r.status_code == 403
    r = client.delete("/api/peers/csirt-gt", headers=operator.headers)
    assert r.status_code == 200 and r.json() == {"removed": "csirt-gt"}
    gone = client.get("/api/me", headers={"Authorization": f"Bearer {added['token']}"})
    assert gone.status_code == 401
    assert client.delete("/api/peers/csirt-gt", headers=operator.headers).status_code == 404
    orgs = client.get("/api/organisations", headers=operator.headers).json()
    assert {o["name"]: o["remote_node"] for o in orgs}["CSIRT GT"] == "csirt-gt"


def test_rest_remote_organisations_refuse_people(client, sessions, gt: ServedNode):
    operator = init_node(sessions)
    with sessions() as s:
        added = peers.add_peer(
            s,
            None,
            name="csirt-gt",
            url=gt.url,
            fingerprint_text=gt.fingerprint,
            direction="both",
            token_env="GT_TOKEN",
        )
        s.commit()
        org_id = added.peer.org_id
    r = client.post(
        "/api/users",
        json={"org_id": org_id, "name": "intruder", "role": "admin"},
        headers=operator.headers,
    )
    assert r.status_code == 403 and "remote organisation" in r.json()["message"]
    r = client.post(
        "/api/invitations", json={"org_id": org_id, "role": "admin"}, headers=operator.headers
    )
    assert r.status_code == 403 and "remote organisation" in r.json()["message"]


# -- admin page ----------------------------------------------------------------------------


def test_admin_peers_page(client, sessions: sessionmaker[Session], gt: ServedNode):
    from tests.web.conftest import other_client, sign_in

    operator = init_node(sessions)
    csrf = sign_in(client, operator.token)
    page = client.get("/admin/peers", headers={"Accept-Language": "es"})
    assert page.status_code == 200
    assert "<h1>Pares de federación</h1>" in page.text and "Todavía no hay pares." in page.text
    with sessions() as s:
        own = peers.fingerprint(bytes(peers.ensure_key(s).verify_key))
    assert display_fingerprint(own) in page.text
    assert 'href="/admin/peers"' in client.get("/admin/organisations").text
    form = {
        "csrf": csrf,
        "name": "csirt-gt",
        "url": gt.url,
        "fingerprint": WRONG,
        "direction": "both",
        "token_env": "GT_TOKEN",
        "country": "",
        "sector": "",
    }
    refused = client.post("/admin/peers", data=form, headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and "compare the fingerprint" in refused.text
    assert f'value="{gt.url}"' in refused.text  # the form keeps what was typed
    added = client.post(
        "/admin/peers",
        data={**form, "fingerprint": gt.fingerprint},
        headers={"Accept-Language": "en"},
    )
    assert added.status_code == 201, added.text
    assert "Peer csirt-gt added; its key is pinned." in added.text
    token = TOKEN.search(added.text)
    assert token is not None
    with sessions() as s:
        assert TokenVerifier(0).verify(s, token.group(0)).principal.user_name == "peer-csirt-gt"
    listing = client.get("/admin/peers", headers={"Accept-Language": "en"}).text
    assert "csirt-gt" in listing and "pinned" in listing and TOKEN.search(listing) is None
    orgs = client.get("/admin/organisations", headers={"Accept-Language": "pt"}).text
    assert "remota (nó csirt-gt)" in orgs
    # A member organisation's admin sees no link and is refused the page.
    member = add_member(sessions, "Banco", role="admin")
    browser = other_client(client)
    member_csrf = sign_in(browser, member.token)
    assert 'href="/admin/peers"' not in browser.get("/admin/organisations").text
    assert browser.get("/admin/peers").status_code == 403
    r = browser.post("/admin/peers/csirt-gt/remove", data={"csrf": member_csrf})
    assert r.status_code == 403
    r = client.post("/admin/peers/csirt-gt/remove", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/peers?done=removed"
    with sessions() as s:
        assert peers.list_peers(s) == []
    r = client.post("/admin/peers/csirt-gt/remove", data={"csrf": csrf})
    assert r.status_code == 404


def test_a_peer_machine_account_publishes_nothing_through_ordinary_paths(
    client, sessions: sessionmaker[Session], gt: ServedNode
):
    from minga.taxii.models import DEFAULT_COLLECTION_ID
    from tests.factories import indicator

    operator = init_node(sessions)
    r = client.post(
        "/api/peers",
        json={
            "name": "csirt-gt",
            "url": gt.url,
            "fingerprint": gt.fingerprint,
            "token_env": "GT_TOKEN",
        },
        headers=operator.headers,
    )
    assert r.status_code == 201, r.text
    machine = {"Authorization": f"Bearer {r.json()['token']}"}
    r = client.post("/api/objects", json=indicator(1), headers=machine)
    assert r.status_code == 403, r.text
    taxii = "application/taxii+json;version=2.1"
    r = client.post(
        f"/taxii2/api/collections/{DEFAULT_COLLECTION_ID}/objects/",
        json={"objects": [indicator(2)]},
        headers={**machine, "Content-Type": taxii, "Accept": taxii},
    )
    assert r.status_code in (202, 403), r.text
    if r.status_code == 202:
        assert r.json()["success_count"] == 0
    found = client.get("/api/objects?type=indicator", headers=operator.headers).json()
    assert found["objects"] == []  # nothing the machine account sent was stored
