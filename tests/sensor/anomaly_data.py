"""Small synthetic telemetry for the anomaly detectors' tests, written as real Zeek TSV logs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CONN_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
               "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "orig_pkts",
               "resp_pkts"]  # fmt: skip
DNS_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "query",
              "qtype_name"]  # fmt: skip
SHARED = Path("/work/shared/data/anomaly")


def write_log(path: Path, log: str, fields: list[str], rows: list[list[object]]) -> Path:
    head = f"#separator \\x09\n#path\t{log}\n#fields\t" + "\t".join(fields) + "\n"
    path.write_text(head + "".join("\t".join(map(str, r)) + "\n" for r in rows))
    return path


def normal_flows(n: int, seed: int = 1, start: float = 1.7e9) -> list[list[object]]:
    """Web browsing of 20 hosts: HTTPS to many servers, sizes log-normal, times random."""
    rng = np.random.default_rng(seed)
    rows: list[list[object]] = []
    for i in range(n):
        out = int(rng.lognormal(6, 0.5))
        rows.append([f"{start + rng.uniform(0, 3600):.6f}", f"C{seed}x{i}",
                     f"10.0.0.{rng.integers(1, 21)}", int(rng.integers(1024, 65535)),
                     f"93.184.{rng.integers(0, 255)}.{rng.integers(1, 255)}", 443, "tcp",
                     "ssl", f"{rng.lognormal(0, 0.5):.3f}", out, int(out * rng.uniform(5, 20)),
                     "SF", int(rng.integers(8, 20)), int(rng.integers(10, 40))])  # fmt: skip
    return rows


def scan_flows(n: int, start: float = 1.7e9) -> list[list[object]]:
    """One host probing n ports of one server: rejected, no payload."""
    return [[f"{start + i * 0.01:.6f}", f"S{i}", "10.0.0.66", 40000, "10.0.5.5", 1 + i, "tcp",
             "-", "0.000100", 0, 0, "REJ", 1, 1] for i in range(n)]  # fmt: skip


def beacon_flows(n: int, every: float, seed: int = 3, start: float = 1.7e9) -> list[list[object]]:
    rng = np.random.default_rng(seed)
    return [[f"{start + i * every + rng.normal(0, 1.5):.6f}", f"B{i}", "10.0.0.7", 50000 + i,
             "203.0.113.9", 443, "tcp", "ssl", "0.200", 312, 1024, "SF", 5, 5]
            for i in range(n)]  # fmt: skip


def random_names(n: int, seed: int = 5) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
    return ["".join(rng.choice(letters, int(rng.integers(10, 16)))) + ".net" for _ in range(n)]


REAL_NAMES = ["google.com", "wikipedia.org", "stackoverflow.com", "microsoft.com", "github.com",
              "mercadolibre.com.ar", "theguardian.co.uk", "booking.com", "cloudflare.net",
              "bancolombia.com", "nytimes.com", "weatherchannel.com", "amazonaws.com",
              "netflix.com", "spotify.com", "linkedin.com", "universidad.edu",
              "facebook.com"]  # fmt: skip
