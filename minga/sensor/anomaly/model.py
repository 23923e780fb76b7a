"""The flow model: distance to the nearest baseline prototype (optionally fused with the PCA
residual).

Chosen by measurement (`benchmarks/sensor.py` prints every variant beside Isolation Forest): on
NSL-KDD and UNSW-NB15 the kNN distance beats Isolation Forest; measured to the nearest of 512
k-means prototypes of the baseline instead of to every baseline flow it is as accurate and
several times faster (no k-selection over thousands of neighbours). The PCA residual helps on
NSL-KDD and hurts on UNSW-NB15, so it is off by default (`pca=True` fuses it: the maximum of
both scores, each scaled by its 90th percentile on the baseline).

Fitting is trimmed: fit, drop the baseline flows the first fit finds most anomalous (`trim`),
refit, so attacks inside the baseline do not become "normal". The model is plain arrays saved
with numpy (`.npz`, no pickle): loading a model file never runs code from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.cluster import MiniBatchKMeans

FORMAT = "minga-flow-model/1"
OTHER = "(other)"


class ModelError(Exception):
    """A model file that cannot be used: one sentence."""


@dataclass
class Frame:
    """Features of n records: numeric columns (n × p) and categorical columns (strings)."""

    numeric_names: list[str]
    numeric: np.ndarray
    categorical: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.numeric.shape[0])


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class FlowModel:
    numeric_names: list[str]
    categories: dict[str, list[str]]
    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    span: np.ndarray
    prototypes: np.ndarray  # k-means centres of the standardised baseline (float32)
    components: np.ndarray  # PCA basis (c × d) on the min-max scaled rows
    centre: np.ndarray
    knn_scale: float
    pca_scale: float
    calibration: np.ndarray  # sorted fused scores of the baseline: score → 0..1 by its rank
    pca: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    # -- encoding --------------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric_names)
        for column, values in self.categories.items():
            names += [f"{column}={v}" for v in values]
        return names

    def _raw(self, frame: Frame) -> np.ndarray:
        if frame.numeric_names != self.numeric_names:
            raise ModelError(
                f"the model was trained on features {self.numeric_names}, not {frame.numeric_names}"
            )
        blocks = [_signed_log(np.nan_to_num(frame.numeric.astype(np.float64)))]
        for column, values in self.categories.items():
            raw = frame.categorical.get(column)
            if raw is None:
                raw = np.full(len(frame), OTHER, dtype=object)
            known = np.asarray(values[:-1], dtype=str)  # sorted when fitted
            text = raw.astype(str)
            where = np.minimum(np.searchsorted(known, text), max(len(known) - 1, 0))
            hit = known[where] == text if len(known) else np.zeros(len(text), dtype=bool)
            hot = np.zeros((len(text), len(values)))
            hot[np.flatnonzero(hit), where[hit]] = 1.0
            hot[~hit, -1] = 1.0
            blocks.append(hot)
        return np.hstack(blocks)

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        frame: Frame,
        *,
        prototypes: int = 512,
        pca: bool = False,
        components: int = 5,
        trim: float = 0.02,
        max_categories: int = 30,
        seed: int = 0,
    ) -> FlowModel:
        """Fit on a baseline, drop its `trim` most anomalous share, refit on the rest."""
        if len(frame) < max(20, components + 2):
            raise ModelError(f"a baseline of {len(frame)} records is too small to train on")
        categories = {}
        for column, raw in frame.categorical.items():
            values, counts = np.unique(raw.astype(str), return_counts=True)
            top = values[np.argsort(-counts, kind="stable")[:max_categories]]
            categories[column] = [*sorted(top.tolist()), OTHER]
        empty = np.zeros(0)
        shell = cls(list(frame.numeric_names), categories, empty, empty, empty, empty, empty,
                    empty, empty, 1.0, 1.0, empty, pca)  # fmt: skip
        raw = shell._raw(frame)
        keep = np.ones(len(raw), dtype=bool)
        model = shell
        for _round in range(2 if trim > 0 else 1):
            model = cls._fit_rows(shell, raw[keep], components, prototypes, seed)
            if trim > 0 and _round == 0:
                fused = model._trim_scores(raw)
                keep = fused <= np.quantile(fused, 1.0 - trim)
        model.meta = {"baseline_records": len(raw), "trimmed": int((~keep).sum()), "trim": trim}
        return model

    @classmethod
    def _fit_rows(
        cls,
        shell: FlowModel,
        raw: np.ndarray,
        components: int,
        prototypes: int,
        seed: int,
    ) -> FlowModel:
        n_numeric = len(shell.numeric_names)
        mean, std = raw.mean(axis=0), raw.std(axis=0)
        mean[n_numeric:], std[n_numeric:] = 0.0, 0.5  # one-hot columns: 0/2, not z-scored
        std[std == 0] = 1.0
        low, span = raw.min(axis=0), raw.max(axis=0) - raw.min(axis=0)
        span[span == 0] = 1.0
        z = (raw - mean) / std
        unique = np.unique(z.round(6), axis=0)
        if len(unique) <= prototypes:
            centres = unique
        else:
            kmeans = MiniBatchKMeans(prototypes, random_state=seed, n_init=1, batch_size=4096)
            centres = kmeans.fit(z).cluster_centers_
        scaled = (raw - low) / span
        centre = scaled.mean(axis=0)
        _, _, vt = np.linalg.svd(scaled - centre, full_matrices=False)
        model = cls(
            shell.numeric_names,
            shell.categories,
            mean,
            std,
            low,
            span,
            centres.astype(np.float32),
            vt[:components],
            centre,
            1.0,
            1.0,
            np.zeros(0),
            shell.pca,
        )
        knn, pca = model._parts(raw)
        model.knn_scale = float(np.quantile(knn, 0.9)) or 1.0
        model.pca_scale = float(np.quantile(pca, 0.9)) or 1.0
        model.calibration = np.sort(model._fuse(knn, pca))
        return model

    # -- scoring ---------------------------------------------------------------------------
    def _nearest(self, raw: np.ndarray) -> np.ndarray:
        """Distance of each row to its nearest prototype, in float32 blocks that stay in cache."""
        c = self.prototypes
        c_sq = (c * c).sum(axis=1)
        out = np.empty(len(raw))
        for start in range(0, len(raw), 8192):
            z = ((raw[start : start + 8192] - self.mean) / self.std).astype(np.float32)
            closest = (c_sq[None, :] - 2.0 * (z @ c.T)).min(axis=1) + (z * z).sum(axis=1)
            out[start : start + len(z)] = np.sqrt(np.maximum(closest, 0.0))
        return out

    def _residual(self, raw: np.ndarray) -> np.ndarray:
        scaled = (raw - self.low) / self.span - self.centre
        residual = scaled - (scaled @ self.components.T) @ self.components
        return np.sqrt((residual**2).sum(axis=1))

    def _parts(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance to the nearest prototype, and the PCA residual, of each row."""
        return self._nearest(raw), self._residual(raw)

    def _trim_scores(self, raw: np.ndarray) -> np.ndarray:
        """Scores for trimming: distance to the nearest prototype that stands for at least a
        few baseline rows (a scattered attack gets prototypes of its own in the first fit)."""
        z = ((raw - self.mean) / self.std).astype(np.float32)
        c = self.prototypes
        squared = (z * z).sum(axis=1)[:, None] + (c * c).sum(axis=1)[None, :] - 2.0 * (z @ c.T)
        support = np.bincount(squared.argmin(axis=1), minlength=len(c))
        solid = support >= max(3.0, 0.25 * len(raw) / len(c))  # a quarter of the mean
        if solid.any():
            squared = squared[:, solid]
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))

    def _fuse(self, knn: np.ndarray, pca: np.ndarray) -> np.ndarray:
        near = knn / self.knn_scale
        return np.maximum(near, pca / self.pca_scale) if self.pca else near

    def _fused(self, raw: np.ndarray) -> np.ndarray:
        if not self.pca:
            return self._nearest(raw) / self.knn_scale
        return self._fuse(*self._parts(raw))

    def raw_scores(self, frame: Frame) -> np.ndarray:
        """Unbounded scores (1.0 ≈ the baseline's 90th percentile); for ranking and AUC."""
        return self._fused(self._raw(frame))

    def scores(self, frame: Frame) -> np.ndarray:
        """0..1: above 0.5 is beyond everything in the baseline (0.5 + half the excess, capped)."""
        return self.to_unit(self.raw_scores(frame))

    def to_unit(self, raw_scores: np.ndarray) -> np.ndarray:
        top = self.calibration[-1] if len(self.calibration) else 1.0
        rank = np.searchsorted(self.calibration, raw_scores, side="right") / max(
            len(self.calibration), 1
        )
        beyond = 0.5 + 0.5 * (1.0 - top / np.maximum(raw_scores, top))
        return np.where(raw_scores > top, beyond, 0.5 * rank)

    def standout(self, frame: Frame, rows: np.ndarray, top: int = 3) -> list[dict[str, float]]:
        """For each of `rows`, the features furthest from the baseline (z-scores)."""
        z = (self._raw(frame)[rows] - self.mean) / self.std
        n_numeric = len(self.numeric_names)
        names = self.feature_names
        unseen = np.array([name.endswith(f"={OTHER}") for name in names[n_numeric:]])
        z[:, n_numeric:] = np.where(unseen, z[:, n_numeric:], 0)  # only a value new to the baseline
        order = np.argsort(-np.abs(z), axis=1)[:, :top]
        return [
            {names[j]: round(float(z[i, j]), 2) for j in order[i] if abs(z[i, j]) > 0}
            for i in range(len(rows))
        ]

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str) -> None:
        header = {
            "format": FORMAT,
            "numeric_names": self.numeric_names,
            "pca": self.pca,
            "categories": self.categories,
            "knn_scale": self.knn_scale,
            "pca_scale": self.pca_scale,
            "meta": self.meta,
        }
        with open(path, "wb") as fh:
            np.savez_compressed(
                fh,
                header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                mean=self.mean,
                std=self.std,
                low=self.low,
                span=self.span,
                prototypes=self.prototypes,
                components=self.components,
                centre=self.centre,
                calibration=self.calibration,
            )

    @classmethod
    def load(cls, path: str) -> FlowModel:
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                arrays = {name: data[name] for name in data.files if name != "header"}
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: not a flow model file ({exc})") from None
        if header.get("format") != FORMAT:
            raise ModelError(f"{path}: not a {FORMAT} file")
        return cls(
            header["numeric_names"],
            header["categories"],
            arrays["mean"],
            arrays["std"],
            arrays["low"],
            arrays["span"],
            arrays["prototypes"],
            arrays["components"],
            arrays["centre"],
            header["knn_scale"],
            header["pca_scale"],
            arrays["calibration"],
            bool(header.get("pca")),
            header.get("meta", {}),
        )
