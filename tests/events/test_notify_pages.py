"""The /notifications page: preferences, a watch, a webhook (secret shown once), the delivery
log, and the organisation's constituency, in the page's language."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.events import constituency, prefs, watch, webhooks
from tests.conftest import add_member
from tests.web.conftest import sign_in


def test_the_notifications_page_manages_everything(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    admin = add_member(sessions, "Banco", role="admin")
    csrf = sign_in(client, admin.token)
    r = client.get("/notifications?lang=es")
    assert r.status_code == 200 and "<h1>Notificaciones</h1>" in r.text
    assert "Constituencia" in r.text  # an admin declares its organisation's assets

    def post(path: str, **data: str) -> object:
        return client.post(path, data={"csrf": csrf, **data}, follow_redirects=False)

    r = post(
        "/notifications/preferences", email="ti@banco.example", language="pt", mail_mode="digest"
    )
    assert r.status_code == 303
    r = post("/notifications/watches", kind="value", value="hxxp://evil[.]example/x")
    assert r.status_code == 303
    r = post("/notifications/watches", kind="value", value="just words")
    assert r.status_code == 422 and "is not a value Minga compares" in r.text
    r = post("/notifications/constituency", asset="203.0.113.0/24")
    assert r.status_code == 303
    r = post(
        "/notifications/webhooks", url="https://hooks.banco.example/minga", organisation="true"
    )
    assert r.status_code == 201
    with sessions() as s:
        [hook] = webhooks.list_for(s, admin.principal)
        assert hook.user_id is None and hook.url == "https://hooks.banco.example/minga"
        secret = s.get_bind().connect().exec_driver_sql("SELECT secret FROM webhooks").scalar()
        assert prefs.get(s, admin.user_id).as_json() == {
            "email": "ti@banco.example", "language": "pt", "mail_mode": "digest"
        }  # fmt: skip
        assert [w.value for w in watch.list_watches(s, admin.principal)] == [
            "http://evil.example/x"
        ]
        assert [a["value"] for a in constituency.list_assets(s, None, admin.org_id)] == [
            "203.0.113.0/24"
        ]
    assert secret in r.text  # shown once, in the answer that made it
    page = client.get("/notifications?lang=en").text
    assert secret not in page and "https://hooks.banco.example/minga" in page
    r = client.get(f"/notifications/webhooks/{hook.id}?lang=en")
    assert r.status_code == 200 and "Nothing delivered yet." in r.text
    assert client.get("/notifications/webhooks/999999").status_code == 404
    # The first admin of the node runs it (no `minga init` here): it imports for everyone.
    r = post("/notifications/constituency/import", csv="organisation,asset\nBanco,x.cr\n")
    assert r.status_code == 200 and "Imported: 1 new assets, 0 already known." in r.text
    r = post("/notifications/constituency/import", csv="organisation,asset\nNadie,x.cr\n")
    assert r.status_code == 422 and "line 2: no organisation named" in r.text
