"""Flow alerts: flows a trained `FlowModel` scores beyond its baseline, one alert per source
(a scan of 4,000 ports is one finding, not 4,000), naming the features that stand out."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from minga.sensor.alerts import Alert
from minga.sensor.anomaly.features import Flows, frame
from minga.sensor.anomaly.model import FlowModel


def flow_alerts(model: FlowModel, f: Flows, threshold: float = 0.6) -> list[Alert]:
    if not len(f):
        return []
    features = frame(f)
    scores = model.scores(features)
    hot = np.flatnonzero(scores >= threshold)
    if not len(hot):
        return []
    sources, group = np.unique(f.src[hot].astype(str), return_inverse=True)
    group = group.ravel()
    worst = np.array(
        [hot[group == g][np.argmax(scores[hot[group == g]])] for g in range(len(sources))]
    )
    standout = model.standout(features, worst)
    alerts = []
    for g, source in enumerate(sources):
        rows = hot[group == g]
        destinations = np.unique(f.dst[rows].astype(str))
        ports = np.unique(f.dport[rows])
        top = int(worst[g])
        ts = f.ts[rows][np.isfinite(f.ts[rows])]
        now = datetime.now(UTC)
        first = datetime.fromtimestamp(float(ts.min()), UTC) if len(ts) else now
        last = datetime.fromtimestamp(float(ts.max()), UTC) if len(ts) else now
        named = ", ".join(f"{k} (z {v:+.1f})" for k, v in standout[g].items()) or "their mix"
        where = str(destinations[0]) if len(destinations) == 1 else None
        why = (
            f"{len(rows)} flow(s) from {source} to {len(destinations)} destination(s) on "
            f"{len(ports)} port(s) unlike the baseline; what stands out: {named}"
        )
        alerts.append(
            Alert(
                "flow-knn",
                float(scores[top]),
                why,
                first,
                last,
                str(source),
                where,
                len(rows),
                standout[g],
                {
                    "file": str(f.path[top]),
                    "line": int(f.line[top]),
                    "destinations": destinations[:10].tolist(),
                    "ports": [int(p) for p in ports[:10]],
                },
            )
        )
    return alerts
