"""A deliberately simple per-window graph builder: the specification the vectorised one must meet.

Python loops over captures, windows and frames; no cleverness. Used only by the tests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tests.graphs.factory import BYTES


@dataclass
class RefGraph:
    capture: str
    start_row: int
    n_frames: int
    n_attack: int
    can_ids: list[int]
    x: np.ndarray
    edges: list[tuple[int, int]]
    edge_attr: np.ndarray


def _window_starts(n: int, size: int, stride: int, tail_policy: str) -> list[tuple[int, int]]:
    out = []
    start = 0
    while start + size <= n:
        out.append((start, size))
        start += stride
    if tail_policy == "keep" and start < n:
        out.append((start, n - start))
    return out


def _graph(
    w: pd.DataFrame, vocabulary: list[int]
) -> tuple[list[int], np.ndarray, list, np.ndarray]:
    ids = [int(i) for i in w["can_id"]]
    t = [float(v) for v in w["timestamp"]]
    payload = w[BYTES].to_numpy().astype(np.int64)
    dlc = [int(d) for d in w["dlc"]]
    n = len(ids)
    nodes = sorted(set(ids))
    local = {c: i for i, c in enumerate(nodes)}
    rows = []
    for c in nodes:
        at = [k for k in range(n) if ids[k] == c]
        gaps = [t[b] - t[a] for a, b in itertools.pairwise(at)]
        changes = [not np.array_equal(payload[a], payload[b]) for a, b in itertools.pairwise(at)]
        flips = [
            sum(
                bin(int(x) ^ int(y)).count("1") for x, y in zip(payload[a], payload[b], strict=True)
            )
            for a, b in itertools.pairwise(at)
        ]
        rows.append(
            [
                *(payload[at, j].mean() / 255 for j in range(8)),
                len(at) / n,
                np.mean([dlc[k] for k in at]) / 8,
                np.mean(gaps) if gaps else 0.0,
                np.std(gaps) if gaps else 0.0,
                np.mean(changes) if changes else 0.0,
                np.mean(flips) / 64 if flips else 0.0,
                float(c not in vocabulary),
            ]
        )
    transitions: dict[tuple[int, int], list[int]] = {}
    for k in range(n - 1):
        transitions.setdefault((local[ids[k]], local[ids[k + 1]]), []).append(k)
    edges = sorted(transitions)
    attr = [
        [
            np.log1p(len(transitions[e])),
            np.mean([t[k + 1] - t[k] for k in transitions[e]]),
            min(transitions[e]) / n,
            max(transitions[e]) / n,
        ]
        for e in edges
    ]
    return nodes, np.array(rows).reshape(-1, 15), edges, np.array(attr).reshape(-1, 4)


def reference_graphs(
    frames: pd.DataFrame, vocabulary: list[int], size: int, stride: int, tail_policy: str
) -> list[RefGraph]:
    """Every window of every capture, captures in table order, windows in time order."""
    graphs = []
    for name in pd.unique(frames["capture"].astype(str)):
        cap = frames[frames["capture"].astype(str) == name].reset_index(drop=True)
        for start, n in _window_starts(len(cap), size, stride, tail_policy):
            w = cap.iloc[start : start + n]
            nodes, x, edges, attr = _graph(w, vocabulary)
            graphs.append(
                RefGraph(
                    name, int(w["row"].iloc[0]), n, int(w["attack"].sum()), nodes, x, edges, attr
                )
            )
    return graphs
