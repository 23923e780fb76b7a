"""Log templates, Drain-style (He et al., ICWS 2017), small: variables are masked first
(addresses, numbers, hex, user-looking tokens after "user"/"for") over the whole column with
RE2, then only the distinct masked lines are clustered by token count, first token and token
similarity; tokens that differ inside a cluster become `<*>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MASKS = [
    (r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d+)?\b", "<IP>"),
    (r"\b[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}\b", "<IP>"),
    (r"\b0x[0-9a-fA-F]+\b", "<HEX>"),
    (r"\b[0-9a-fA-F]{16,}\b", "<HEX>"),
    (r"(\b(?:user|for|invalid user|by|ruser|rhost)[= ])\S+", r"\1<*>"),
    (r"\b\d+\b", "<NUM>"),
    (r"(blk_)-?\d+", r"\1<*>"),
]
SIMILARITY = 0.5


def mask(messages: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    for pattern, replacement in MASKS:
        messages = pc.replace_substring_regex(messages, pattern, replacement)
    return messages


@dataclass
class _Cluster:
    tokens: list[str]
    size: int = 0


@dataclass
class TemplateMiner:
    """Templates of a log; `fit` grows them, `assign` maps messages to template ids (-1 for a
    message like no known template)."""

    clusters: list[_Cluster] = field(default_factory=list)
    _groups: dict[tuple[int, str], list[int]] = field(default_factory=dict)

    @property
    def templates(self) -> list[str]:
        return [" ".join(c.tokens) for c in self.clusters]

    def _find(self, tokens: list[str]) -> int:
        best, best_sim = -1, 0.0
        for cid in self._groups.get((len(tokens), tokens[0] if tokens else ""), []):
            known = self.clusters[cid].tokens
            same = sum(1 for x, y in zip(known, tokens, strict=True) if x == y or x == "<*>")
            sim = same / max(len(tokens), 1)
            if sim > best_sim:
                best, best_sim = cid, sim
        return best if best_sim >= SIMILARITY else -1

    def _add(self, tokens: list[str], grow: bool) -> int:
        cid = self._find(tokens)
        if cid >= 0:
            cluster = self.clusters[cid]
            if grow:
                cluster.tokens = [
                    x if x == y else "<*>" for x, y in zip(cluster.tokens, tokens, strict=True)
                ]
                cluster.size += 1
            return cid
        if not grow:
            return -1
        self.clusters.append(_Cluster(list(tokens), 1))
        key = (len(tokens), tokens[0] if tokens else "")
        self._groups.setdefault(key, []).append(len(self.clusters) - 1)
        return len(self.clusters) - 1

    def _run(self, messages: pa.Array | pa.ChunkedArray, grow: bool) -> np.ndarray:
        masked = mask(messages)
        if isinstance(masked, pa.ChunkedArray):
            masked = masked.combine_chunks()
        distinct = pc.unique(masked)
        ids = np.array(
            [self._add((m or "").split(), grow) for m in distinct.to_pylist()], dtype=np.int64
        )
        where = pc.index_in(masked, value_set=distinct).to_numpy(zero_copy_only=False)
        return ids[where]

    def fit(self, messages: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Grow templates from `messages`; the template id of each."""
        return self._run(messages, grow=True)

    def assign(self, messages: pa.Array | pa.ChunkedArray) -> np.ndarray:
        return self._run(messages, grow=False)
