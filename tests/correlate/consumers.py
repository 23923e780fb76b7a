"""The real programs that read Minga's feeds, run on exported files (skipped when missing,
failed under MINGA_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

SURICATA_YAML = Path("/etc/suricata/suricata.yaml")


def need(program: str) -> str:
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if found is None:
        message = f"{program} is not installed (.ci/run installs it)"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message} and MINGA_REQUIRE_SERVICES=1")
        pytest.skip(message)
    return found


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, check=False
    )


def suricata_test(rules: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """`suricata -T`: load the rules with the packaged configuration and exit."""
    program = need("suricata")
    logs = work / "suricata-logs"
    logs.mkdir(exist_ok=True)
    return run(program, "-T", "-v", "-c", SURICATA_YAML, "-S", rules, "-l", logs)


def loaded_rules(result: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    """(loaded, failed): "N rules successfully loaded, M rules failed" in Suricata's words."""
    for line in (result.stdout + result.stderr).splitlines():
        if "rules successfully loaded" in line:
            words = line.replace(",", " ").split()
            loaded = int(words[words.index("successfully") - 2])
            failed = int(words[words.index("failed") - 2])
            return loaded, failed
    raise AssertionError(f"suricata did not report its rules:\n{result.stdout}{result.stderr}")


def named_checkzone(zone: str, path: Path) -> subprocess.CompletedProcess[str]:
    return run(need("named-checkzone"), zone, path)


def nft_check(path: Path) -> subprocess.CompletedProcess[str]:
    return run(need("nft"), "-c", "-f", path)
