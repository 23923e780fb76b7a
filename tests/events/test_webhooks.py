"""Webhooks: signed POSTs to a real receiver on loopback, only what the owner may see,
retries with backoff, dead letter, a delivery log its owner reads and replays."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import groups
from minga.events import notify_loop
from minga.intel import service as intel
from minga.policy import Reach, Tlp
from minga.settings import Settings
from tests.conftest import add_member, refresh
from tests.events.notify_helpers import Receiver, receiving
from tests.factories import indicator, malware, sid


def _hook(client: TestClient, headers: dict[str, str], url: str, **extra: object) -> dict:
    r = client.post("/api/webhooks", json={"url": url, **extra}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_webhook_receives_signed_what_its_owner_may_see(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    everything, green_only = Receiver(), Receiver()
    with receiving(everything) as url_all, receiving(green_only) as url_green:
        everything.secret = _hook(client, gt.headers, url_all)["secret"]
        green_only.secret = _hook(
            client, gt.headers, url_green, types=["indicator"], max_tlp="green"
        )["secret"]
        notify_loop.run_once(sessions, settings)
        with sessions() as s:
            intel.create_objects(s, cr.principal, [indicator(1)], tlp=Tlp.GREEN)
            intel.create_objects(s, cr.principal, [indicator(2)], tlp=Tlp.RED)
            intel.create_objects(
                s, cr.principal, [indicator(3)], tlp=Tlp.GREEN, reach=Reach.ORGANISATION
            )
            intel.create_objects(s, cr.principal, [indicator(4)], tlp=Tlp.AMBER)
            intel.create_objects(s, cr.principal, [malware(5)], tlp=Tlp.CLEAR)
            s.commit()
        done = notify_loop.run_once(sessions, settings)
    assert everything.bad_signatures == green_only.bad_signatures == 0
    ids = [x["body"]["item"]["id"] for x in everything.received]
    assert ids == [sid("indicator", 1), sid("indicator", 4), sid("malware", 5)]
    assert [x["body"]["item"]["id"] for x in green_only.received] == [sid("indicator", 1)]
    assert {x["event"] for x in everything.received} == {"object"}
    assert done.delivered == 4
    # The log: the owner reads it, nobody else (not even its organisation's other members).
    hook_id = client.get("/api/webhooks", headers=gt.headers).json()["webhooks"][0]["id"]
    log = client.get(f"/api/webhooks/{hook_id}/deliveries", headers=gt.headers).json()
    assert [d["status"] for d in log["deliveries"]] == ["delivered"] * 3
    assert client.get(f"/api/webhooks/{hook_id}/deliveries", headers=cr.headers).status_code == 404


def test_retries_with_backoff_then_dead_letter_then_replay(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    other = add_member(sessions, "Other")
    live = settings.model_copy(update={"webhook_retry_seconds": 0, "webhook_max_attempts": 3})
    flaky = Receiver(fail_first=2)
    with receiving(flaky) as url:
        made = _hook(client, cr.headers, url)
        flaky.secret = made["secret"]
        notify_loop.run_once(sessions, live)
        with sessions() as s:
            intel.create_objects(s, cr.principal, [indicator(1)], tlp=Tlp.GREEN)
            s.commit()
        rounds = [notify_loop.run_once(sessions, live).delivered for _ in range(3)]
        log = client.get(f"/api/webhooks/{made['id']}/deliveries", headers=cr.headers).json()
        [entry] = log["deliveries"]
        assert (rounds, entry["status"], entry["attempts"]) == ([0, 0, 1], "delivered", 3)
        assert [x["body"]["item"]["id"] for x in flaky.received] == [sid("indicator", 1)]

        flaky.fail_first = flaky.calls + 3  # down for good: three attempts, then dead
        with sessions() as s:
            intel.create_objects(s, cr.principal, [indicator(2)], tlp=Tlp.GREEN)
            s.commit()
        for _ in range(4):
            notify_loop.run_once(sessions, live)
        path = f"/api/webhooks/{made['id']}/deliveries"
        [dead] = client.get(f"{path}?status=dead", headers=cr.headers).json()["deliveries"]
        assert (dead["attempts"], dead["last_code"]) == (3, 500)
        assert dead["last_error"] == "the receiver answered 500"
        flaky.fail_first = 0  # fixed: the dead delivery is replayed by its owner
        r = client.post(f"{path}/{dead['id']}/replay", headers=other.headers)
        assert r.status_code == 404
        r = client.post(f"{path}/{dead['id']}/replay", headers=cr.headers)
        assert r.status_code == 202
        assert notify_loop.run_once(sessions, live).delivered == 1
    ids = [x["body"]["item"]["id"] for x in flaky.received]
    assert ids == [sid("indicator", 1), sid("indicator", 2)]


def test_bad_urls_and_authority_are_refused(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    analyst = add_member(sessions, "CSIRT-CR")
    for url, why in [
        ("ftp://example.org/x", "must start with http:// or https://"),
        ("http://", "names no host"),
        ("https://user:pw@example.org/", "no credentials"),
        ("https://exa mple.org/", "without spaces"),
        ("https://example.org:99999/", "cannot be read"),
    ]:
        r = client.post("/api/webhooks", json={"url": url}, headers=analyst.headers)
        assert r.status_code == 422 and why in r.json()["message"], (url, r.text)
    r = client.post(
        "/api/webhooks",
        json={"url": "https://example.org/", "organisation": True},
        headers=analyst.headers,
    )
    assert r.status_code == 403
    r = client.post(
        "/api/webhooks", json={"url": "https://example.org/", "max_tlp": "purple"},
        headers=analyst.headers,
    )  # fmt: skip
    assert r.status_code == 422 and "unknown TLP" in r.json()["message"]
    made = _hook(client, analyst.headers, "https://example.org/hook")
    assert len(made["secret"]) >= 40
    listed = client.get("/api/webhooks", headers=analyst.headers).json()["webhooks"]
    assert [h["url"] for h in listed] == ["https://example.org/hook"]
    assert "secret" not in listed[0]
    assert client.delete(f"/api/webhooks/{made['id']}", headers=analyst.headers).status_code == 204


def test_the_policy_is_asked_again_just_before_sending(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    cr = add_member(sessions, "CSIRT-CR")
    gt = add_member(sessions, "CSIRT-GT", country="GT")
    with sessions() as s:
        group = groups.create_group(
            s, None, name="Istmo", owner_org_id=cr.org_id, member_org_ids=[cr.org_id, gt.org_id]
        )
        s.commit()
    gt = refresh(sessions, gt)
    cr = refresh(sessions, cr)
    live = settings.model_copy(update={"webhook_retry_seconds": 0})
    down = Receiver(fail_first=1)
    with receiving(down) as url:
        made = _hook(client, gt.headers, url)
        down.secret = made["secret"]
        notify_loop.run_once(sessions, live)
        with sessions() as s:
            intel.create_objects(
                s, cr.principal, [indicator(1)], tlp=Tlp.AMBER, group_ids=[group.id]
            )
            s.commit()
        notify_loop.run_once(sessions, live)  # queued (GT is in the group), first POST fails
        with sessions() as s:
            groups.set_group_members(s, None, group.id, [cr.org_id])  # GT leaves it
            s.commit()
        notify_loop.run_once(sessions, live)
    assert down.received == []
    log = client.get(f"/api/webhooks/{made['id']}/deliveries", headers=gt.headers).json()
    [entry] = log["deliveries"]
    assert (entry["status"], entry["last_error"]) == ("dead", "its owner may no longer see this")
