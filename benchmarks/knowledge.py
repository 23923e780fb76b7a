"""Import time and peak memory of MITRE ATT&CK Enterprise via `minga knowledge update attack`,
on SQLite and PostgreSQL. Target: under 10 s and 500 MB.

    .venv/bin/python benchmarks/knowledge.py --file enterprise-attack-18.1.json  # a real bundle
    .venv/bin/python benchmarks/knowledge.py            # a synthetic bundle of the same shape
    .venv/bin/python benchmarks/knowledge.py --backends sqlite

Without --file, a STIX 2.0 bundle shaped like Enterprise v18.1 is built from the test fixtures'
objects: 24,771 objects, ~45 MB (techniques, tactics, software, groups, mitigations, analytics,
7 data components with the empty `x_mitre_data_source_ref` quirk, and relationships). Each
backend runs in a fresh process, so its peak RSS is the import's own: a first load, then a
re-load of the same release (nothing new stored).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "knowledge" / "fixtures"
PG_ADMIN = os.environ.get(
    "MINGA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TOTAL = 24_771  # objects in ATT&CK Enterprise v18.1 (the count)
console = Console(width=150)


def _fixture_objects() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((FIXTURES / "enterprise-attack").glob("*.json")):
        for obj in orjson.loads(path.read_bytes())["objects"]:
            found[obj["type"]] = obj
    return found


def synthetic_bundle() -> bytes:
    """A bundle with the size and mix of Enterprise v18.1, made of fixture-shaped objects."""
    base = _fixture_objects()
    pad = " Adversaries may vary this behaviour." * 60  # descriptions of ~2 kB, as published
    objs: list[dict[str, Any]] = [base["identity"], base["marking-definition"]]
    tactics = ["reconnaissance", "resource-development", "initial-access", "execution",
               "persistence", "privilege-escalation", "defense-evasion", "credential-access",
               "discovery", "lateral-movement", "collection", "command-and-control",
               "exfiltration", "impact"]  # fmt: skip
    tactic_ids = []
    for n, short in enumerate(tactics):
        t = copy.deepcopy(base["x-mitre-tactic"])
        t["id"] = f"x-mitre-tactic--{uuid.uuid4()}"
        t["name"], t["x_mitre_shortname"] = short.replace("-", " ").title(), short
        t["external_references"][0]["external_id"] = f"TA{n + 1:04d}"
        tactic_ids.append(t["id"])
        objs.append(t)
    objs.append({"type": "x-mitre-matrix", "id": f"x-mitre-matrix--{uuid.uuid4()}",
                 "created": "2018-10-17T00:14:20.652Z", "modified": "2025-10-28T00:00:00.000Z",
                 "name": "Enterprise ATT&CK", "tactic_refs": tactic_ids,
                 "created_by_ref": base["identity"]["id"]})  # fmt: skip
    techniques = []
    for n in range(800):
        t = copy.deepcopy(base["attack-pattern"])
        t["id"] = f"attack-pattern--{uuid.uuid4()}"
        parent, sub = 1000 + n // 4, n % 4
        tid = f"T{parent}" + (f".{sub:03d}" if sub else "")
        t["name"], t["description"] = f"Technique {tid}", t["description"] + pad
        t["external_references"][0]["external_id"] = tid
        t["kill_chain_phases"] = [{"kill_chain_name": "mitre-attack",
                                   "phase_name": tactics[n % len(tactics)]}]  # fmt: skip
        techniques.append(t["id"])
        objs.append(t)
    others = []
    mix = (("malware", 700), ("tool", 90), ("intrusion-set", 180), ("campaign", 50),
           ("course-of-action", 280), ("x-mitre-analytic", 1700),
           ("x-mitre-detection-strategy", 700))  # fmt: skip
    for kind, count in mix:
        for n in range(count):
            o = {"type": kind, "id": f"{kind}--{uuid.uuid4()}",
                 "created": "2020-01-01T00:00:00.000Z", "modified": "2025-10-28T00:00:00.000Z",
                 "created_by_ref": base["identity"]["id"], "name": f"{kind} {n}",
                 "description": "Described as ATT&CK does." + pad,
                 "object_marking_refs": [base["marking-definition"]["id"]],
                 "x_mitre_domains": ["enterprise-attack"], "x_mitre_version": "1.0"}  # fmt: skip
            if kind == "malware":
                o["labels"] = ["malware"]
            others.append(o["id"])
            objs.append(o)
    for _ in range(7):  # the quirk that refused v18.1 whole
        c = copy.deepcopy(base["x-mitre-data-component"])
        c["id"], c["x_mitre_data_source_ref"] = f"x-mitre-data-component--{uuid.uuid4()}", ""
        objs.append(c)
    n = 0
    while len(objs) < TOTAL:
        objs.append({"type": "relationship", "id": f"relationship--{uuid.uuid4()}",
                     "created": "2021-01-01T00:00:00.000Z",
                     "modified": "2025-10-28T00:00:00.000Z", "relationship_type": "uses",
                     "source_ref": others[n % len(others)],
                     "target_ref": techniques[n % len(techniques)],
                     "description": "[Group] has used this technique.(Citation: Report) " * 6,
                     "external_references": [
                         {"source_name": "Report", "url": f"https://example.org/report/{n}",
                          "description": "Vendor. (2024, May 1). A report on this group's "
                                         "operations in the region. Retrieved May 2, 2024."}
                     ] * 2,
                     "created_by_ref": base["identity"]["id"],
                     "object_marking_refs": [base["marking-definition"]["id"]]})  # fmt: skip
        n += 1
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                         "spec_version": "2.0", "objects": objs})  # fmt: skip


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def child(url: str, path: str) -> None:
    """One backend in this (fresh) process: init, load, re-load; prints a JSON line."""
    from minga.accounts import service as accounts
    from minga.accounts.node import set_operator_org
    from minga.db import make_engine, make_sessionmaker
    from minga.knowledge import service
    from minga.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        org = accounts.create_organisation(s, None, name="Operator", country="CR",
                                           sector="government", kind="csirt")  # fmt: skip
        set_operator_org(s, org.id)
        s.commit()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures: dict[str, Any] = {"rss_before_mb": before / 1024}
    for run in ("first", "again"):
        start, cpu = time.perf_counter(), _cpu()
        with sessions() as s:
            (done,) = service.update(s, "attack", path)
            s.commit()
        figures[run] = {
            "seconds": time.perf_counter() - start, "cpu_seconds": _cpu() - cpu,
            "created": done.created, "existing": done.existing, "repaired": done.repaired,
            "refused": done.refused_count, "objects": done.objects,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }  # fmt: skip
    engine.dispose()
    print(json.dumps(figures))


def _database(backend: str, tmp: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", None
    name = f"minga_bench_{uuid.uuid4().hex[:8]}"
    with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def _drop(name: str) -> None:
    with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", help="a real ATT&CK bundle or per-object directory")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        path = args.file
        if path is None:
            path = str(tmp / "enterprise-attack-synthetic.json")
            Path(path).write_bytes(synthetic_bundle())
        size = (
            sum(p.stat().st_size for p in Path(path).rglob("*.json"))
            if Path(path).is_dir()
            else Path(path).stat().st_size
        )
        console.print(f"ATT&CK data: {path} ({size / 1e6:.1f} MB)")
        table = Table("backend", "run", "objects", "new", "already", "repaired", "refused",
                      "seconds", "CPU s", "peak RSS MB", "RSS before MB")  # fmt: skip
        for backend in args.backends.split(","):
            url, dbname = _database(backend, tmp)
            try:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", url, path],
                    check=True, capture_output=True, text=True,
                ).stdout  # fmt: skip
            finally:
                if dbname:
                    _drop(dbname)
            figures = json.loads(out.strip().splitlines()[-1])
            for run in ("first", "again"):
                f = figures[run]
                table.add_row(
                    backend, run, str(f["objects"]), str(f["created"]), str(f["existing"]),
                    str(f["repaired"]), str(f["refused"]), f"{f['seconds']:.1f}",
                    f"{f['cpu_seconds']:.1f}",
                    f"{f['peak_rss_mb']:.0f}", f"{figures['rss_before_mb']:.0f}",
                )  # fmt: skip
        console.print(table)
        console.print("Targets: under 10 s and 500 MB peak for the first load.")
        console.print(
            f"Load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs."
        )


if __name__ == "__main__":
    main()
