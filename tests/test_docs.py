"""Guard tests: every setting is documented, the quick start stays two commands."""

from __future__ import annotations

from pathlib import Path

from minga.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [
        f"MINGA_{name.upper()}"
        for name in Settings.model_fields
        if f"`MINGA_{name.upper()}`" not in README
    ]
    assert missing == []


def test_quick_start_is_two_commands():
    start = README.index("## Quick start")
    block = README[start:].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]


def test_api_docs_need_no_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    asset = page.text.split('src="', 1)[1].split('"', 1)[0]
    assert client.get(asset).status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "Minga node"
