"""`minga check`: one line per check, exit 0 on a healthy node and 1 when a check fails
(schema behind this release, unreadable certificate files), on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from alembic import command
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text
from typer.testing import CliRunner

from minga.cli import app
from minga.db import make_engine
from minga.migrate import alembic_config
from minga.ops.check import head_revision

runner = CliRunner()


def _check(env: dict[str, str]) -> tuple[int, dict[str, tuple[str, str]]]:
    r = runner.invoke(app, ["check"], env=env)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    lines = {}
    for line in r.output.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("ok", "warn", "fail"):
            name, detail = rest.strip()[:10].strip(), rest.strip()[10:].strip()
            lines[name] = (status, detail)
    return r.exit_code, lines


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "minga.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = folder / "node.crt", folder / "node.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_a_healthy_node_passes_every_check(db_url: str, tmp_path: Path):
    env = {"MINGA_DATABASE_URL": db_url, "MINGA_SECRET_KEY": "k" * 32}
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    cert, key = _certificate(tmp_path)
    env |= {"MINGA_TLS_CERT_FILE": str(cert), "MINGA_TLS_KEY_FILE": str(key)}
    code, lines = _check(env)
    assert code == 0, lines
    expected = {"settings", "database", "schema", "clock", "node key", "members", "disk", "tls"}
    assert set(lines) >= expected
    assert all(status == "ok" for status, _ in lines.values()), lines
    assert head_revision() in lines["schema"][1]
    if not db_url.startswith("sqlite"):
        assert "the database server's clock" in lines["clock"][1]


def test_problems_fail_with_one_line_each(db_url: str, other_url: str, tmp_path: Path):
    engine = make_engine(other_url)
    cfg = alembic_config(other_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
        conn.execute(
            text(
                "INSERT INTO organisations (name, country, sector, kind, identity_ref,"
                " description, created_at) VALUES ('Old', 'XX', 'cosas', 'csirt',"
                " 'identity--5e1d0b3a-0000-4a2b-9c3d-0a0b0c0d0e09', '', :now)"
            ),
            {"now": dt.datetime.now(dt.UTC)},
        )
    engine.dispose()
    env = {
        "MINGA_DATABASE_URL": other_url,
        "MINGA_TLS_CERT_FILE": str(tmp_path / "missing.crt"),
        "MINGA_TLS_KEY_FILE": str(tmp_path / "missing.key"),
    }
    code, lines = _check(env)
    assert code == 1
    assert lines["schema"][0] == "fail" and "at revision 0008" in lines["schema"][1]
    assert lines["node key"][0] == "fail" and "minga init" in lines["node key"][1]
    assert lines["tls"][0] == "fail" and "missing.crt" in lines["tls"][1]
    assert lines["members"] == ("warn", "country or sector to correct: Old (XX, cosas)")
    code, _ = _check({**env, "MINGA_TLS_KEY_FILE": ""})  # one without the other
    assert code == 2
