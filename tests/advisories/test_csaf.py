"""CSAF 2.0: documents valid against the official OASIS JSON schema (as shipped, with its
licence, by the `csaf` package: csaf/csaf/v20/schema/csaf.json), and the provider layout of
§7.1: provider-metadata.json, year folders, hashes, OpenPGP signatures, index.txt, changes.csv,
ROLIE feed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from minga.advisories import openpgp
from tests.advisories.conftest import CVE, Csirt, body

SCHEMAS = resources.files("csaf").joinpath("csaf", "v20", "schema")


def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMAS.joinpath("csaf.json").read_text())
    registry: Registry = Registry()
    for version in ("2.0", "3.0", "3.1"):
        cvss = json.loads(SCHEMAS.joinpath("referenced", f"cvss-v{version}.json").read_text())
        registry = registry.with_resource(
            f"https://www.first.org/cvss/cvss-v{version}.json", Resource.from_contents(cvss)
        )
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def _publish(client: TestClient, csirt: Csirt, **changes) -> str:
    r = client.post("/api/advisories", json=body(csirt, **changes), headers=csirt.analyst.headers)
    assert r.status_code == 201, r.text
    tracking_id = str(r.json()["tracking_id"])
    r = client.post(f"/api/advisories/{tracking_id}/publish", headers=csirt.coordinator.headers)
    assert r.status_code == 200, r.text
    return tracking_id


def test_the_schema_is_the_official_one():
    schema = json.loads(SCHEMAS.joinpath("csaf.json").read_text())
    assert schema["$id"] == "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"
    Draft202012Validator.check_schema(schema)


def test_csaf_documents_are_valid_and_served_as_a_provider(client: TestClient, csirt: Csirt):
    validator = _validator()
    first = _publish(client, csirt)
    phishing = _publish(
        client, csirt, category="phishing", products=[], cves=[], links=[csirt.clear_indicator]
    )
    r = client.post(
        f"/api/advisories/{first}/revisions",
        json={**body(csirt), "summary": "Second look"},
        headers=csirt.coordinator.headers,
    )
    assert r.status_code == 200

    meta = client.get("/.well-known/csaf/provider-metadata.json")
    assert meta.status_code == 200 and "set-cookie" not in meta.headers
    metadata = meta.json()
    # §7.2.1: the required fields of provider metadata.
    for key in (
        "canonical_url",
        "last_updated",
        "list_on_CSAF_aggregators",
        "metadata_version",
        "mirror_on_CSAF_aggregators",
        "publisher",
        "role",
    ):
        assert key in metadata, key
    assert metadata["metadata_version"] == "2.0" and metadata["role"] == "csaf_provider"
    assert metadata["canonical_url"].endswith("/.well-known/csaf/provider-metadata.json")
    feed_url = metadata["distributions"][0]["rolie"]["feeds"][0]["url"]
    root = feed_url.split("/.well-known/")[0]

    def local(url: str) -> str:
        assert url.startswith(root)
        return url[len(root) :]

    feed = client.get(local(feed_url)).json()["feed"]
    assert [e["id"] for e in feed["entry"]] == [first]  # only vulnerabilities become CSAF
    entry = feed["entry"][0]
    doc_url = entry["content"]["src"]
    assert doc_url.endswith(f"/white/{doc_url.split('/')[-2]}/{first.lower()}.json")
    raw = client.get(local(doc_url))
    assert raw.headers["content-type"] == "application/json"
    document = raw.json()
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]
    assert document["document"]["category"] == "csaf_security_advisory"
    assert document["document"]["lang"] == "en"
    assert document["document"]["tracking"]["id"] == first
    assert document["document"]["tracking"]["version"] == "2"
    assert [h["number"] for h in document["document"]["tracking"]["revision_history"]] == [
        "1",
        "2",
    ]
    assert [v["cve"] for v in document["vulnerabilities"]] == [CVE]
    assert document["vulnerabilities"][0]["remediations"][0]["category"] == "mitigation"

    # Hashes in the sha256sum/sha512sum format, over the exact bytes served.
    name = doc_url.rsplit("/", 1)[1]
    for algorithm in ("sha256", "sha512"):
        line = client.get(local(f"{doc_url}.{algorithm}")).text
        assert line == f"{hashlib.new(algorithm, raw.content).hexdigest()}  {name}\n"
    # The OpenPGP signature verifies with the public key the metadata points to.
    key_info = metadata["public_openpgp_keys"][0]
    key = client.get(local(key_info["url"]))
    assert key.status_code == 200 and "BEGIN PGP PUBLIC KEY BLOCK" in key.text
    signature = client.get(local(f"{doc_url}.asc")).text
    assert "BEGIN PGP SIGNATURE" in signature
    assert openpgp.verify(key.text, raw.content, signature)
    assert not openpgp.verify(key.text, raw.content + b" ", signature)

    # index.txt and changes.csv (§7.1.12, §7.1.13) list the document by its folder path.
    year_path = "/".join(doc_url.split("/")[-2:])
    index = client.get("/.well-known/csaf/white/index.txt").text
    assert index.splitlines() == [year_path]
    changes = list(csv.reader(io.StringIO(client.get("/.well-known/csaf/white/changes.csv").text)))
    assert changes == [[year_path, document["document"]["tracking"]["current_release_date"]]]
    listing = client.get("/.well-known/csaf/white/").text
    assert f'href="{year_path.split("/")[0]}/"' in listing

    # The REST copy is the same document; the phishing advisory has none.
    headers = csirt.analyst.headers
    assert client.get(f"/api/advisories/{first}/csaf", headers=headers).json() == document
    assert client.get(f"/api/advisories/{phishing}/csaf", headers=headers).status_code == 404

    # Withdrawn: the document stays (aggregators must learn it), with a revision and a note.
    client.post(
        f"/api/advisories/{first}/withdraw",
        json={"reason": "Superseded by the vendor's advisory."},
        headers=csirt.coordinator.headers,
    )
    withdrawn = client.get(local(doc_url)).json()
    assert validator.is_valid(withdrawn)
    assert withdrawn["document"]["tracking"]["version"] == "3"
    assert any("Superseded" in n["text"] for n in withdrawn["document"]["notes"])


def test_gnupg_verifies_the_signature(client: TestClient, csirt: Csirt, tmp_path: Path):
    """The signature is standard OpenPGP: GnuPG, as CSAF tools use it, verifies it."""
    if shutil.which("gpg") is None:
        if os.environ.get("MINGA_REQUIRE_SERVICES") == "1":
            pytest.fail("gpg is required (MINGA_REQUIRE_SERVICES=1) but missing")
        pytest.skip("gpg is not installed")
    tracking_id = _publish(client, csirt)
    feed = client.get("/.well-known/csaf/white/csaf-feed-tlp-white.json").json()["feed"]
    url = feed["entry"][0]["content"]["src"].split("/.well-known/", 1)[1]
    doc = client.get(f"/.well-known/{url}").content
    meta = client.get("/.well-known/csaf/provider-metadata.json").json()
    key_path = meta["public_openpgp_keys"][0]["url"].split("/.well-known/", 1)[1]
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    (tmp_path / "key.asc").write_text(client.get(f"/.well-known/{key_path}").text)
    (tmp_path / "doc.json").write_bytes(doc)
    (tmp_path / "doc.json.asc").write_text(client.get(f"/.well-known/{url}.asc").text)
    gpg = ["gpg", "--homedir", str(home), "--batch"]
    subprocess.run([*gpg, "--import", str(tmp_path / "key.asc")], check=True, capture_output=True)
    done = subprocess.run(
        [*gpg, "--verify", str(tmp_path / "doc.json.asc"), str(tmp_path / "doc.json")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "Good signature" in done.stderr
    assert tracking_id.lower() in url
