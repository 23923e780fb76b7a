"""The web page of the feeds: download button on the objects list, downloads, feed URLs."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.policy import Tlp
from tests.correlate.stored import Community, community, publish
from tests.web.conftest import csrf_of, sign_in


def store(sessions: sessionmaker[Session]) -> Community:
    c = community(sessions)
    with sessions() as s:
        publish(s, c.gt, 1, "[ipv4-addr:value = '45.77.12.34']")
        publish(s, c.gt, 2, "[domain-name:value = 'evil-update.net']", tlp=Tlp.GREEN)
        publish(s, c.gt, 3, "[ipv4-addr:value = '45.77.99.1']", tlp=Tlp.RED)
        s.commit()
    return c


def test_objects_list_leads_to_the_export_page(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    c = store(sessions)
    sign_in(client, c.hn.token)
    listing = client.get("/objects")
    assert 'action="/export"' in listing.text
    page = client.get("/export?lang=es")
    assert page.status_code == 200
    assert "Exportar para herramientas de defensa" in page.text
    assert "Suricata" in page.text and "DNS RPZ" in page.text


def test_download_from_the_page(client: TestClient, sessions: sessionmaker[Session]) -> None:
    c = store(sessions)
    sign_in(client, c.hn.token)
    got = client.get("/export?format=zeek&type=domain&tlp=green")
    assert got.status_code == 200
    assert got.headers["content-disposition"] == 'attachment; filename="minga-zeek.intel"'
    lines = got.text.splitlines()
    assert lines[0].startswith("#fields\tindicator\tindicator_type")
    assert [line.split("\t")[:2] for line in lines[1:]] == [["evil-update.net", "Intel::DOMAIN"]]
    assert client.get("/export?format=nope").status_code == 422


def test_feed_url_made_on_the_page(client: TestClient, sessions: sessionmaker[Session]) -> None:
    c = store(sessions)
    csrf = sign_in(client, c.hn.token)
    made = client.post(
        "/export/feed-tokens",
        data={
            "csrf": csrf,
            "format": "txt",
            "type": ["ipv4"],
            "name": "edge firewall",
        },
    )
    assert made.status_code == 201, made.text
    start = made.text.index('id="issued" readonly value="') + len('id="issued" readonly value="')
    url = made.text[start : made.text.index('"', start)].replace("&amp;", "&")
    assert "/feeds/txt?type=ipv4&token=mf_" in url
    polled = TestClient(client.app).get("/" + url.split("://", 1)[1].split("/", 1)[1])
    assert polled.text == "45.77.12.34\n"
    listed = client.get("/export")
    assert "edge firewall" in listed.text
    public_id = url.split("token=mf_", 1)[1].split("_", 1)[0]
    revoked = client.post(
        f"/export/feed-tokens/{public_id}/revoke", data={"csrf": csrf_of(listed.text)}
    )
    assert revoked.status_code == 200  # after the redirect
    assert "The feed token is revoked." in revoked.text
    assert TestClient(client.app).get(url.split("://", 1)[1].split("/", 1)[1]).status_code == 401
