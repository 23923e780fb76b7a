"""In a real browser: from the objects list to a downloaded RPZ zone that BIND accepts, and a
feed URL made on the page that a poller then reads."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.correlate.consumers import named_checkzone
from tests.web.server import DemoNode
from tests.web.test_browser import _signed_in, browser, node  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_download_an_rpz_zone_and_make_a_feed_url(
    browser,  # noqa: F811
    node: DemoNode,  # noqa: F811
    tmp_path: Path,
) -> None:
    context, page = _signed_in(browser, node, "ana.rojas")
    page.get_by_role("link", name="Publish an indicator").click()
    page.select_option("#kind", "domain")
    page.fill("#value", "pago-sinpe-cr[.]com")
    page.fill("#name", "SINPE payment phishing")
    page.check("#tlp-green")
    page.get_by_role("button", name="Publish").click()
    page.get_by_role("link", name="Objects", exact=True).click()
    page.get_by_role("button", name="Export for defence tools").click()
    assert page.locator("h1").inner_text() == "Export for defence tools"
    download_form = page.locator("form[method=get]")
    download_form.locator("#dl-format").select_option("rpz")
    download_form.locator("input[name=type][value=domain]").check()
    with page.expect_download() as info:
        download_form.get_by_role("button", name="Download").click()
    zone = tmp_path / "minga.rpz"
    info.value.save_as(zone)
    assert info.value.suggested_filename == "minga-rpz.rpz"
    assert "pago-sinpe-cr.com CNAME ." in zone.read_text()
    assert named_checkzone("rpz.minga", zone).returncode == 0

    feed_form = page.locator("form[action='/export/feed-tokens']")
    feed_form.locator("#feed-format").select_option("txt")
    feed_form.locator("input[name=type][value=domain]").check()
    feed_form.locator("#feed-name").fill("resolver")
    feed_form.get_by_role("button", name="Make a feed URL").click()
    url = page.locator("#issued").input_value()
    assert "/feeds/txt?type=domain&token=mf_" in url
    polled = httpx.get(url, timeout=60)
    assert polled.status_code == 200 and "pago-sinpe-cr.com" in polled.text.split()
    assert "resolver" in page.locator("table").last.inner_text()
    context.close()
