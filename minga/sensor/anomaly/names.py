"""Domain names: the registered parent of a name, Shannon entropy, and a DGA-looking score from
a character-bigram model of benign names (the sensor's own list `data/benign_names.txt`, plus the
names of a baseline when one is given)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources

import numpy as np

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"
_INDEX = {c: i + 1 for i, c in enumerate(ALPHABET)}  # 0 = word boundary
SIZE = len(ALPHABET) + 1
# second-level labels under which a country's registrations sit (example.co.uk, example.com.br)
_SECOND_LEVEL = {"co", "com", "net", "org", "gov", "gob", "edu", "ac", "or", "ne", "go", "mil"}


def parent(name: str) -> str:
    """The registered domain of `name`: a.b.example.com → example.com, x.example.co.uk →
    example.co.uk."""
    labels = name.lower().rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def registered_label(name: str) -> str:
    """The label an owner chose: gatyfus of gatyfus.com, example of www.example.co.uk."""
    return parent(name).split(".")[0]


def entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = np.unique(np.frombuffer(text.encode(), dtype=np.uint8), return_counts=True)[1]
    shares = counts / counts.sum()
    return float(-(shares * np.log2(shares)).sum())


def _benign_words() -> list[str]:
    text = resources.files("minga.sensor.anomaly").joinpath("data/benign_names.txt").read_text()
    return [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]


@dataclass
class NameModel:
    """log P(next char | char) with add-one smoothing, learnt from benign labels."""

    logp: np.ndarray  # SIZE × SIZE

    @classmethod
    def fit(cls, labels: list[str] | None = None) -> NameModel:
        counts = np.ones((SIZE, SIZE))
        for word in _benign_words() + list(labels or []):
            codes = [0] + [_INDEX.get(c, 0) for c in word.lower()] + [0]
            np.add.at(counts, (codes[:-1], codes[1:]), 1)
        return cls(np.log(counts / counts.sum(axis=1, keepdims=True)))

    def surprise(self, label: str) -> float:
        """Mean negative log-probability per character transition (higher = less word-like)."""
        codes = [0] + [_INDEX.get(c, 0) for c in label.lower()] + [0]
        return float(-self.logp[codes[:-1], codes[1:]].mean())

    def dga_score(self, name: str) -> tuple[float, dict[str, float]]:
        """0..1 with the features behind it, for the registered label of `name`."""
        label = registered_label(name)
        if len(label) < 6:  # too short to tell a word from noise
            return 0.0, {}
        surprise = self.surprise(label)
        digits = sum(c.isdigit() for c in label) / len(label)
        run = max((len(r) for r in _consonant_runs(label)), default=0)
        features = {
            "surprise": round(surprise, 2),
            "entropy": round(entropy(label), 2),
            "length": float(len(label)),
            "digits": round(digits, 2),
            "consonant_run": float(run),
        }
        # surprise of benign labels sits around 2.4–2.9 nats, random letters near 4
        raw = (surprise - 3.1) / 0.5 + 2.0 * digits + 0.25 * max(run - 3, 0)
        raw += 0.05 * max(len(label) - 12, 0)
        return float(1.0 / (1.0 + math.exp(-3.0 * raw))), features


def _consonant_runs(label: str) -> list[str]:
    runs, current = [], ""
    for c in label:
        if c.isalpha() and c not in "aeiouy":
            current += c
        else:
            if current:
                runs.append(current)
            current = ""
    return runs + ([current] if current else [])
