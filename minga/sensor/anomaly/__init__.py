"""The sensor's anomaly detectors: what no indicator names. Each turns batches of telemetry into
`minga.sensor.alerts.Alert`s with a score and a sentence saying why.

* flow-knn (`flow`, `model`): flows unlike a trained baseline (needs a model: `minga sensor
  baseline`), named by the features that stand out;
* beaconing (`beacon`): RITA-style regular calls from one source to one destination;
* dns-tunnel and dga (`dns`, `names`): data carried in DNS names, names that read like no word;
* ssh-brute-force and log-template (`logs`, `templates`, `sessions`): auth.log/syslog actors
  that guess passwords or break the invariants of the rest of the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minga.sensor.alerts import Alert
from minga.sensor.anomaly.beacon import beacon_alerts
from minga.sensor.anomaly.dns import dga_alerts, queries, tunnel_alerts
from minga.sensor.anomaly.features import flows, frame
from minga.sensor.anomaly.flow import flow_alerts
from minga.sensor.anomaly.logs import brute_force_alerts, template_alerts
from minga.sensor.anomaly.model import FlowModel, ModelError
from minga.sensor.anomaly.names import NameModel
from minga.sensor.readers.base import Batch

__all__ = ["Detectors", "FlowModel", "ModelError", "flows", "frame", "train_baseline"]


@dataclass
class Detectors:
    """Every detector, run over the batches of one look (a scan, or one poll of `run`)."""

    model: FlowModel | None = None
    threshold: float = 0.6  # flow score (0..1) from which a flow is reported
    names: NameModel = field(default_factory=NameModel.fit)

    def detect(self, batches: list[Batch]) -> list[Alert]:
        alerts: list[Alert] = []
        f = flows(batches)
        if self.model is not None:
            alerts += flow_alerts(self.model, f, self.threshold)
        alerts += beacon_alerts(f)
        q = queries(batches)
        alerts += tunnel_alerts(q) + dga_alerts(q, self.names)
        for batch in batches:
            if batch.log in ("auth", "syslog"):
                alerts += brute_force_alerts(batch) + template_alerts(batch)
        return sorted(alerts, key=lambda a: -a.score)


def train_baseline(batches: list[Batch], trim: float = 0.02) -> FlowModel:
    """A flow model of the flows in `batches` (the baseline period), trimmed of its most
    anomalous `trim` share before the final fit."""
    f = flows(batches)
    if not len(f):
        raise ModelError("the baseline holds no flows (conn.log, eve flow events, nfdump CSV)")
    model = FlowModel.fit(frame(f), trim=trim)
    model.meta["paths"] = sorted({str(p) for p in f.path})
    return model
