"""A deliberately simple per-window graph builder: the specification the vectorised one must meet.

Python loops over captures, windows and frames; no cleverness. Used only by the tests.
"""

from __future__ import annotations

import itertools
import math
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


CLIP = 8.0


def _clipped_log2(a: float, b: float) -> float:
    if b == 0 or math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) or math.isnan(b) or a == 0 else CLIP
    if a == 0:
        return -CLIP
    if math.isinf(b):
        return -CLIP
    return min(max(math.log2(a / b), -CLIP), CLIP)


def frame_history(cap: pd.DataFrame, max_tracked_ids: int | None) -> list[dict]:
    """Per frame of one capture (time order): its deviation from its ID's earlier frames.

    The first `max_tracked_ids` distinct IDs keep their own history; later IDs share one."""
    tracked: list[int] = []
    states: dict[object, list[int]] = {}  # state key → indices of its earlier frames
    t = [float(v) for v in cap["timestamp"]]
    payload = [bytes(int(b) for b in row) for row in cap[BYTES].to_numpy()]
    out = []
    for i, can_id in enumerate(int(c) for c in cap["can_id"]):
        if can_id not in tracked and (max_tracked_ids is None or len(tracked) < max_tracked_ids):
            tracked.append(can_id)
        key = can_id if can_id in tracked else "overflow"
        past = states.setdefault(key, [])
        k = len(past)
        gaps = [t[b] - t[a] for a, b in itertools.pairwise(past)]
        period = float(np.mean(gaps)) if len(gaps) >= 1 else math.nan
        changes = [payload[a] != payload[b] for a, b in itertools.pairwise(past)]
        flips = [
            sum(bin(x ^ y).count("1") for x, y in zip(payload[a], payload[b], strict=True)) / 64
            for a, b in itertools.pairwise(past)
        ]
        row = {
            "period": period,
            "first": i - k if not past else past[0],
            "tracked": key != "overflow",
            "seen": k if key != "overflow" else 0,
            "gap": t[i] - t[past[-1]] if k >= 1 and key != "overflow" else math.nan,
        }
        if k >= 1:
            change = float(payload[past[-1]] != payload[i])
            flip = (
                sum(
                    bin(x ^ y).count("1")
                    for x, y in zip(payload[past[-1]], payload[i], strict=True)
                )
                / 64
            )
        if k >= 2:
            ratio = math.log2(max(t[i] - t[past[-1]], 1e-9) / period) if period > 0 else CLIP
            row["iat_ratio"] = min(max(ratio, -CLIP), CLIP)
            row["change_excess"] = change - float(np.mean(changes))
            row["flip_excess"] = flip - float(np.mean(flips))
        else:
            row |= {"iat_ratio": 0.0, "change_excess": 0.0, "flip_excess": 0.0}
        out.append(row)
        past.append(i)
    return out


@dataclass
class RefProfile:
    """A capture's matched profile: its IDs with their periods (NaN: unknown), from when."""

    periods: dict[int, float]
    matched_from: float
    rate: float = math.nan  # frames per second


def _history_columns(
    w: pd.DataFrame,
    history: list[dict],
    start: int,
    capture_t0: float,
    t_start: float,
    profile: RefProfile | None,
    known_after: int,
) -> dict[int, list[float]]:
    """The history, context and profile features of each node of a window at `start`."""
    ids = [int(i) for i in w["can_id"]]
    t = [float(v) for v in w["timestamp"]]
    n = len(ids)
    span = (t[-1] - t[0]) * n / (n - 1) if n > 1 else 0.0
    out = {}
    for c in sorted(set(ids)):
        at = [k for k in range(n) if ids[k] == c]
        h = [history[start + k] for k in at]
        ratios = [x["iat_ratio"] for x in h]
        period = h[0]["period"]
        count_ratio = (
            0.0
            if math.isnan(period)
            else _clipped_log2(len(at) + 1, span / period + 1)
            if period > 0
            else -CLIP
        )
        new = float(not h[0]["tracked"] or h[0]["first"] >= start)
        out[c] = [
            float(np.mean(ratios)),
            min(ratios),
            max(ratios),
            count_ratio,
            float(np.mean([x["change_excess"] for x in h])),
            float(np.mean([x["flip_excess"] for x in h])),
            new,
        ]
    share = float(np.mean([v[-1] for v in out.values()]))
    if start == 0 or n < 2:
        load = 0.0
    else:
        load = _clipped_log2((n - 1) / (t[-1] - t[0]), start / (t_start - capture_t0))
    for v in out.values():
        v += [load, share]
    uses = profile is not None and t[-1] >= profile.matched_from
    known = profile.periods if uses else {}

    def has_period(c: int) -> bool:
        return c in known and known[c] > 0 and not math.isnan(known[c])

    expected = [c for c in known if has_period(c) and known[c] <= span / 2]
    missing = len(set(expected) - set(ids)) / len(expected) if expected else 0.0
    elapsed = t[-1] - t[0]
    rate = profile.rate if uses else math.nan
    if uses and not math.isnan(rate) and n >= 2 and elapsed > 0:
        profile_load = _clipped_log2((n - 1) / elapsed, rate)
    else:
        profile_load = load
    for c, v in out.items():
        h = history[start + ids.index(c)]
        unknown = float(c not in known and h["seen"] < known_after)
        count = ids.count(c)
        ratio = _clipped_log2(count + 1, span / known[c] + 1) if has_period(c) else v[3]
        gaps = [history[start + k] for k in range(n) if ids[k] == c]
        if has_period(c):
            own = [
                0.0
                if math.isnan(x["gap"])
                else min(max(math.log2(max(x["gap"], 1e-9) / known[c]), -CLIP), CLIP)
                for x in gaps
            ]
        else:
            own = [x["iat_ratio"] for x in gaps]
        v += [unknown, ratio, missing, float(np.mean(own)), min(own), max(own), profile_load]
    return out


def _graph(
    w: pd.DataFrame, vocabulary: list[int], history_columns: dict[int, list[float]]
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
                *history_columns[c],
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
    return nodes, np.array(rows).reshape(-1, 31), edges, np.array(attr).reshape(-1, 4)


def reference_graphs(
    frames: pd.DataFrame,
    vocabulary: list[int],
    size: int,
    stride: int,
    tail_policy: str,
    max_tracked_ids: int | None = None,
    profiles: dict[str, RefProfile] | None = None,
    known_after: int = 3,
) -> list[RefGraph]:
    """Every window of every capture, captures in table order, windows in time order; node
    features in `NODE_FEATURES` order (all groups); `profiles`: each matched capture's."""
    graphs = []
    for name in pd.unique(frames["capture"].astype(str)):
        cap = frames[frames["capture"].astype(str) == name].reset_index(drop=True)
        history = frame_history(cap, max_tracked_ids)
        t0 = float(cap["timestamp"].iloc[0])
        for start, n in _window_starts(len(cap), size, stride, tail_policy):
            w = cap.iloc[start : start + n]
            columns = _history_columns(
                w,
                history,
                start,
                t0,
                float(w["timestamp"].iloc[0]),
                (profiles or {}).get(name),
                known_after,
            )
            nodes, x, edges, attr = _graph(w, vocabulary, columns)
            graphs.append(
                RefGraph(
                    name, int(w["row"].iloc[0]), n, int(w["attack"].sum()), nodes, x, edges, attr
                )
            )
    return graphs
