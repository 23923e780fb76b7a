"""The anomaly detectors: each finds a planted anomaly and stays quiet on clean data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from minga.sensor.anomaly import Detectors, ModelError, flows, frame, train_baseline
from minga.sensor.anomaly.beacon import beacon_alerts
from minga.sensor.anomaly.dns import dga_alerts, queries, tunnel_alerts
from minga.sensor.anomaly.logs import template_alerts
from minga.sensor.anomaly.model import FlowModel
from minga.sensor.anomaly.names import NameModel, parent
from minga.sensor.anomaly.sessions import SessionModel, count_vectors
from minga.sensor.anomaly.templates import TemplateMiner
from minga.sensor.readers import read
from tests.sensor.anomaly_data import (
    CONN_FIELDS,
    DNS_FIELDS,
    REAL_NAMES,
    SHARED,
    beacon_flows,
    normal_flows,
    random_names,
    scan_flows,
    write_log,
)  # fmt: skip


@pytest.fixture(scope="module")
def names() -> NameModel:
    return NameModel.fit()


def test_flow_model_flags_a_scan_and_not_normal_traffic(tmp_path):
    base = read(str(write_log(tmp_path / "base.log", "conn", CONN_FIELDS, normal_flows(1500))))
    model = train_baseline([base])
    assert model.meta["trimmed"] == 30  # 2 % of the baseline dropped before the final fit
    mixed = normal_flows(300, seed=9) + scan_flows(60)
    batch = read(str(write_log(tmp_path / "conn.log", "conn", CONN_FIELDS, mixed)))
    alerts = Detectors(model=model).detect([batch])
    flow = [a for a in alerts if a.detector == "flow-knn"]
    assert [a.source for a in flow] == ["10.0.0.66"]
    assert flow[0].count == 60 and flow[0].destination == "10.0.5.5"
    assert flow[0].score > 0.5 and "stands out" in flow[0].reason and flow[0].features
    clean = read(str(write_log(tmp_path / "clean.log", "conn", CONN_FIELDS, normal_flows(300, 4))))
    scores = model.scores(frame(flows([clean])))
    assert (scores >= 0.5).mean() < 0.02


def test_model_save_load_round_trip(tmp_path):
    batch = read(str(write_log(tmp_path / "conn.log", "conn", CONN_FIELDS, normal_flows(400))))
    model = train_baseline([batch])
    path = str(tmp_path / "model.npz")
    model.save(path)
    again = FlowModel.load(path)
    f = frame(flows([batch]))
    assert np.array_equal(model.raw_scores(f), again.raw_scores(f))
    assert again.categories == model.categories and again.meta == model.meta
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a flow model"):
        FlowModel.load(str(tmp_path / "junk.npz"))


def test_trimming_keeps_attacks_in_the_baseline_from_becoming_normal():
    from minga.sensor.anomaly.model import Frame

    rng = np.random.default_rng(0)
    normal = rng.normal(0, 1, (2000, 4))
    attacks = rng.uniform(20, 60, (40, 4)) * rng.choice([-1, 1], (40, 4))  # 2 %, scattered
    baseline = Frame(["a", "b", "c", "d"], np.vstack([normal, attacks]))
    probe = Frame(["a", "b", "c", "d"], attacks)
    blind = FlowModel.fit(baseline, trim=0.0, prototypes=64)
    trimmed = FlowModel.fit(baseline, trim=0.03, prototypes=64)
    assert (trimmed.scores(probe) >= 0.5).sum() > (blind.scores(probe) >= 0.5).sum()
    assert (trimmed.scores(probe) >= 0.5).mean() > 0.9


def test_beacon_found_among_random_traffic(tmp_path):
    rows = normal_flows(800) + beacon_flows(40, every=60.0)
    batch = read(str(write_log(tmp_path / "conn.log", "conn", CONN_FIELDS, rows)))
    alerts = beacon_alerts(flows([batch]))
    assert [(a.source, a.destination) for a in alerts] == [("10.0.0.7", "203.0.113.9")]
    assert alerts[0].count == 40 and alerts[0].features["median_interval_s"] == pytest.approx(
        60, abs=2
    )
    quiet = read(str(write_log(tmp_path / "q.log", "conn", CONN_FIELDS, normal_flows(800))))
    assert beacon_alerts(flows([quiet])) == []


def test_dga_flags_random_names_not_real_ones(names):
    flagged = [n for n in random_names(50) if names.dga_score(n)[0] >= 0.7]
    assert len(flagged) >= 45
    assert [n for n in REAL_NAMES if names.dga_score(n)[0] >= 0.7] == []
    assert parent("a.b.example.co.uk") == "example.co.uk" and parent("x.gatyfus.com") == (
        "gatyfus.com"
    )


def _dns(tmp_path, rows):
    return read(str(write_log(tmp_path / "dns.log", "dns", DNS_FIELDS, rows)))


def test_dns_detectors(tmp_path, names):
    rows = [[f"{1.7e9 + i}", f"D{i}", "10.0.0.3", 5353, "10.0.0.1", 53, "udp", n, "A"]
            for i, n in enumerate(REAL_NAMES * 5)]  # fmt: skip
    clean = queries([_dns(tmp_path, rows)])
    assert tunnel_alerts(clean) == [] and dga_alerts(clean, names) == []
    rng = np.random.default_rng(2)
    tunnel = ["".join(rng.choice(list("0123456789abcdef"), 48)) + ".t.evil-tunnel.org"
              for _ in range(60)]  # fmt: skip
    dga = random_names(12)
    rows += [[f"{1.7e9 + i}", f"T{i}", "10.0.0.9", 5353, "10.0.0.1", 53, "udp", n, "TXT"]
             for i, n in enumerate(tunnel)]  # fmt: skip
    rows += [[f"{1.7e9 + i}", f"G{i}", "10.0.0.8", 5353, "10.0.0.1", 53, "udp", n, "A"]
             for i, n in enumerate(dga)]  # fmt: skip
    q = queries([_dns(tmp_path, rows)])
    found = tunnel_alerts(q)
    assert [(a.source, a.destination) for a in found] == [("10.0.0.9", "evil-tunnel.org")]
    assert found[0].features["txt_null_queries"] == 60 and "TXT/NULL" in found[0].reason
    dgas = dga_alerts(q, names)
    assert [a.source for a in dgas] == ["10.0.0.8"] and len(dgas[0].evidence["names"]) >= 10


def test_template_miner_groups_lines():
    lines = [f"Failed password for root from 10.0.0.{i} port {4000 + i} ssh2" for i in range(5)]
    lines += [f"Accepted publickey for alice from 10.0.1.{i} port 22 ssh2" for i in range(3)]
    lines += ["session opened for user bob by (uid=0)"]
    miner = TemplateMiner()
    ids = miner.fit(pa.array(lines))
    assert len(set(ids[:5].tolist())) == 1 and len(set(ids[5:8].tolist())) == 1
    assert len(set(ids.tolist())) == 3
    assert miner.templates[ids[0]] == "Failed password for <*> from <IP> port <NUM> ssh2"
    assert miner.assign(pa.array(["Failed password for eve from 1.2.3.4 port 1 ssh2"]))[0] == ids[0]
    assert miner.assign(pa.array(["kernel panic"]))[0] == -1


def test_session_invariants_find_broken_sessions():
    rng = np.random.default_rng(0)
    opened = rng.integers(1, 5, 300)
    good = np.column_stack([opened, opened, 2 * opened, np.zeros(300, int)])
    model = SessionModel.fit(good, ["open", "close", "write", "crash"])
    assert model.scores(good).max() == 0.0
    bad = np.array([[3, 2, 6, 0], [1, 1, 2, 1]])
    scores = model.scores(bad)
    assert (scores >= 0.5).all()
    assert "count(open) = count(close)" in model.why(bad[0])
    assert "never seen" in model.why(bad[1])
    keys, counts = count_vectors(np.array(["a", "b", "a"]), np.array([0, 1, 1]), 2)
    assert keys.tolist() == ["a", "b"] and counts.tolist() == [[1, 1], [0, 1]]


@pytest.mark.skipif(not SHARED.exists(), reason="the shared anomaly data sets are not here")
def test_hdfs_slice_and_openssh_sample():
    base = SHARED / "logs-loghub-deeplog"

    def sessions(name: str, n: int) -> np.ndarray:
        rows = [list(map(int, line.split())) for line in (base / "deeplog-hdfs" / name)
                .read_text().splitlines()[:n]]  # fmt: skip
        counts = np.zeros((len(rows), 29), dtype=np.int64)
        for i, r in enumerate(rows):
            np.add.at(counts[i], r, 1)
        return counts

    normal, abnormal = sessions("hdfs_train", 1000), sessions("hdfs_test_abnormal", 300)
    model = SessionModel.fit(normal[:500], [f"E{i}" for i in range(29)])
    assert (model.scores(normal[500:]) > 0).mean() < 0.02
    assert (model.scores(abnormal) > 0).mean() > 0.9
    auth = read(str(base / "loghub/OpenSSH/OpenSSH_2k.log"))
    alerts = Detectors().detect([auth])
    brute = {a.source: a for a in alerts if a.detector == "ssh-brute-force"}
    assert (
        brute["183.62.140.253"].count >= 300
        and "failed SSH logins" in brute["183.62.140.253"].reason
    )


def test_log_template_session_that_breaks_the_others_invariants(tmp_path):
    lines = []
    for i in range(40):
        ip = f"10.1.0.{i}"
        for k in range(1 + i % 3):
            head = f"Mar  1 10:{i:02d}:{k}"
            lines += [
                f"{head}0 web1 sshd[{100 + i}]: Accepted publickey for deploy from {ip} port "
                f"{5000 + k} ssh2",
                f"{head}1 web1 sshd[{100 + i}]: pam_unix(sshd:session): session opened for user "
                f"deploy by (uid=0) from {ip}",
                f"{head}2 web1 sshd[{100 + i}]: pam_unix(sshd:session): session closed for user "
                f"deploy from {ip}",
            ]
    clean = tmp_path / "clean.log"
    clean.write_text("\n".join(lines) + "\n")
    assert template_alerts(read(str(clean))) == []
    for k in range(4):  # sessions opened and never closed
        lines += [
            f"Mar  1 11:00:0{k} web1 sshd[999]: Accepted publickey for deploy from 10.9.9.9 port "
            f"{6000 + k} ssh2",
            f"Mar  1 11:00:1{k} web1 sshd[999]: pam_unix(sshd:session): session opened for user "
            "deploy by (uid=0) from 10.9.9.9",
        ]
    odd = tmp_path / "auth.log"
    odd.write_text("\n".join(lines) + "\n")
    alerts = template_alerts(read(str(odd)))
    assert [a.source for a in alerts] == ["10.9.9.9"]
    assert "2 broken invariant(s)" in alerts[0].reason and alerts[0].count == 8
