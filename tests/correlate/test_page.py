"""The object page's correlation section: visible matches only, with who reported them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.intel import service as intel
from minga.policy import Tlp
from tests.conftest import add_member
from tests.factories import indicator, sid
from tests.web.conftest import sign_in


def test_object_page_shows_correlations(client: TestClient, sessions: sessionmaker[Session]):
    cr = add_member(sessions, "CSIRT-CR", country="CR")
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    sv = add_member(sessions, "CSIRT-SV", country="SV")
    with sessions() as s:
        mine = indicator(1, pattern="[domain-name:value = 'bad-host.net']")
        intel.create_objects(s, cr.principal, [mine], tlp=Tlp.GREEN)
        url = indicator(2, pattern="[url:value = 'http://cdn.bad-host.net/x.php']", name="Drop")
        intel.create_objects(s, gt.principal, [url], tlp=Tlp.GREEN)
        hidden = indicator(3, pattern="[domain-name:value = 'bad-host.net']")
        intel.create_objects(s, sv.principal, [hidden], tlp=Tlp.RED)
        lone = indicator(4, pattern="[file:name = 'x.exe']")
        intel.create_objects(s, cr.principal, [lone], tlp=Tlp.GREEN)
        s.commit()
    sign_in(client, cr.token)
    page = client.get(f"/objects/{sid('indicator', 1)}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert '<h2 id="corr-h">Correlations</h2>' in page.text
    assert f'href="/objects/{sid("indicator", 2)}">Drop</a>' in page.text
    assert "Also reported by CSIRT-GT" in page.text and "inside it" in page.text
    assert sid("indicator", 3) not in page.text and "CSIRT-SV" not in page.text
    alone = client.get(f"/objects/{sid('indicator', 4)}", headers={"Accept-Language": "es"})
    assert "En ningún otro objeto que pueda ver." in alone.text


def test_the_indicator_form_links_a_value_published_before(
    client: TestClient, sessions: sessionmaker[Session]
):
    from tests.web.conftest import csrf_of

    cr = add_member(sessions, "CSIRT-CR", country="CR")
    sign_in(client, cr.token)
    csrf = csrf_of(client.get("/publish/indicator").text)
    data = {"csrf": csrf, "kind": "domain", "value": "pagos-hacienda-cr[.]com",
            "name": "Phishing", "tlp": "green", "reach": "community"}  # fmt: skip
    first = client.post("/publish/indicator", data=data, follow_redirects=False)
    assert first.status_code == 303 and "known" not in first.headers["location"]
    first_id = first.headers["location"].split("/objects/")[1].split("?")[0]
    again = client.post(
        "/publish/indicator", data={**data, "name": "Phishing again"}, follow_redirects=False
    )
    assert again.headers["location"] == f"/objects/{first_id}?published=1&known=1"
    page = client.get(again.headers["location"], headers={"Accept-Language": "en"})
    assert "Already known: your organisation had published this value" in page.text
    assert "<h1>Phishing again</h1>" in page.text  # the new version of the first indicator
