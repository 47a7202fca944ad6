"""Frames → one graph per window, for all windows at once.

A graph has a node per distinct CAN ID of the window and a directed edge a→b when a frame of ID
a is directly followed by a frame of ID b (de-duplicated, self-loops kept). The windows are laid
out as a (n_windows, window_size) matrix of frame indices; sorting each row by (CAN ID, position)
groups a window's frames by node, and sorting the consecutive pairs by (source, target, position)
groups them by edge. Features are then segment sums (`np.bincount`) over those groups — no
Python loop per window or per frame. Nodes of a window are ordered by CAN ID, edges by
(source, target).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from kd_gat.graphs.store import GraphStore, offsets
from kd_gat.graphs.vocabulary import lookup
from kd_gat.graphs.windows import TailPolicy, Windows, capture_runs, make_windows
from kd_gat.ingestion.frames import BYTE_COLUMNS, CAPTURE_COLUMNS, PAYLOAD_BYTES

NODE_FEATURES: tuple[str, ...] = (
    *(f"byte_{i}_mean" for i in range(PAYLOAD_BYTES)),  # mean payload byte / 255
    "frame_share",  # share of the window's frames that carry this ID
    "dlc_mean",  # mean DLC / 8
    "iat_mean",  # mean inter-arrival time (s) between this ID's frames in the window
    "iat_std",  # their standard deviation (s); 0 with fewer than two gaps
    "payload_change_rate",  # share of consecutive frames of the ID whose payload changed
    "payload_bit_flip_rate",  # mean Hamming distance between consecutive payloads / 64
    "oov",  # 1 if the ID is out of vocabulary
)
EDGE_FEATURES: tuple[str, ...] = (
    "log_count",  # log1p(number of a→b transitions in the window)
    "gap_mean",  # mean time (s) from the a frame to the following b frame
    "first_position",  # window position of the first transition's a frame / window length
    "last_position",  # same for the last transition
)
CHUNK_FRAMES = 1 << 18  # frames per chunk of windows built at once
_PAD = np.iinfo(np.int64).max


@dataclass(frozen=True)
class FrameArrays:
    """The frame columns the builder reads, aligned on the frame order (sorted by capture)."""

    timestamp: np.ndarray  # float64
    can_id: np.ndarray  # int64
    dlc: np.ndarray  # uint8
    payload: np.ndarray  # uint64: byte_i in bits 8i..8i+7
    attack: np.ndarray  # int8
    row: np.ndarray  # int64

    @classmethod
    def from_frames(cls, frames: pd.DataFrame) -> FrameArrays:
        """Pick the columns of a `frames` table (docs/interfaces.md)."""
        payload = np.empty((len(frames), PAYLOAD_BYTES), dtype=np.uint8)
        for i, column in enumerate(BYTE_COLUMNS):
            payload[:, i] = frames[column].to_numpy(dtype=np.uint8)
        return cls(
            timestamp=frames["timestamp"].to_numpy(dtype=np.float64),
            can_id=frames["can_id"].to_numpy(dtype=np.int64),
            dlc=frames["dlc"].to_numpy(dtype=np.uint8),
            payload=payload.view("<u8").reshape(-1),
            attack=frames["attack"].to_numpy(dtype=np.int8),
            row=frames["row"].to_numpy(dtype=np.int64),
        )


class GraphArrays(NamedTuple):
    """Concatenated graph tensors of all windows (raw, un-normalised features)."""

    x: np.ndarray
    node_id: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    node_ptr: np.ndarray
    edge_ptr: np.ndarray


def _empty_graphs(n_windows: int) -> GraphArrays:
    return GraphArrays(
        x=np.zeros((0, len(NODE_FEATURES)), np.float32),
        node_id=np.zeros(0, np.int32),
        edge_index=np.zeros((2, 0), np.int32),
        edge_attr=np.zeros((0, len(EDGE_FEATURES)), np.float32),
        node_ptr=np.zeros(n_windows + 1, np.int64),
        edge_ptr=np.zeros(n_windows + 1, np.int64),
    )


def _first_mask(keys: np.ndarray, window_first: np.ndarray | None = None) -> np.ndarray:
    """True where a sorted key starts a new group (or, given their first entries, a new window)."""
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    if window_first is not None:
        first[window_first[window_first < len(keys)]] = True
    return first


def _sorted_rows(key: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Sort each row's valid entries (a row prefix) and return them flattened, row by row."""
    key[~valid] = _PAD
    key.sort(axis=1)
    return key[valid]


def _node_features(
    frames: FrameArrays,
    frame: np.ndarray,
    new_node: np.ndarray,
    node_of: np.ndarray,
    count: np.ndarray,
    window_length: np.ndarray,
    oov: np.ndarray,
) -> np.ndarray:
    """`NODE_FEATURES` of every node; `frame` lists frames grouped by node, in time order."""
    n_nodes = len(count)

    def node_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(node_of, weights=values, minlength=n_nodes)

    columns: dict[str, np.ndarray] = {}
    payload = frames.payload[frame]
    payload_bytes = payload.view(np.uint8).reshape(-1, PAYLOAD_BYTES)
    for b in range(PAYLOAD_BYTES):  # a loop over the 8 byte columns, not over windows
        columns[f"byte_{b}_mean"] = node_sum(payload_bytes[:, b]) / (255.0 * count)
    columns["frame_share"] = count / window_length
    columns["dlc_mean"] = node_sum(frames.dlc[frame]) / (8.0 * count)
    # Consecutive frames of one node: inter-arrival times and payload changes.
    gaps = np.maximum(count - 1, 1)
    time = frames.timestamp[frame]
    iat = np.diff(time, prepend=time[0])
    iat[new_node] = 0.0
    iat_mean = node_sum(iat) / gaps
    iat *= iat
    columns["iat_mean"] = iat_mean
    columns["iat_std"] = np.sqrt(np.maximum(node_sum(iat) / gaps - iat_mean**2, 0.0))
    change = np.empty_like(payload)
    change[0] = 0
    np.bitwise_xor(payload[1:], payload[:-1], out=change[1:])
    change[new_node] = 0
    columns["payload_change_rate"] = node_sum(change != 0) / gaps
    columns["payload_bit_flip_rate"] = node_sum(np.bitwise_count(change)) / (64.0 * gaps)
    columns["oov"] = oov
    x = np.empty((n_nodes, len(NODE_FEATURES)), dtype=np.float32)
    for j, name in enumerate(NODE_FEATURES):
        x[:, j] = columns[name]
    return x


def _build_chunk(frames: FrameArrays, windows: Windows, vocabulary: np.ndarray) -> GraphArrays:
    """Graph tensors of a run of windows, all at once."""
    n_windows = len(windows)
    length = windows.length
    size = int(length.max())
    position = np.arange(size, dtype=np.int64)
    valid = position < length[:, None]  # (n_windows, size); a prefix of each row

    # Nodes: sort each row by (CAN ID, position); a run of equal IDs is a node.
    key = frames.can_id[np.minimum(windows.start[:, None] + position, len(frames.can_id) - 1)]
    key *= size
    key += position
    key = _sorted_rows(key, valid)  # all frames, ordered by (window, CAN ID, position)
    window = np.repeat(np.arange(n_windows, dtype=np.int64), length)
    can_id = key // size
    pos = key - can_id * size
    del key
    new_node = _first_mask(can_id, offsets(length)[:-1])
    node_first = np.flatnonzero(new_node)
    node_of = np.cumsum(new_node) - 1
    count = np.diff(np.append(node_first, len(new_node)))
    node_window = window[node_first]
    node_ptr = offsets(np.bincount(node_window, minlength=n_windows))
    node_id = lookup(vocabulary, can_id[node_first])
    del can_id
    x = _node_features(
        frames,
        windows.start[window] + pos,
        new_node,
        node_of,
        count,
        length[node_window],
        node_id == len(vocabulary),
    )
    graphs = _empty_graphs(n_windows)._replace(
        x=x, node_id=node_id.astype(np.int32), node_ptr=node_ptr
    )

    # Edges: consecutive pairs (p, p+1) of a window, sorted by (source, target, position).
    node_2d = np.zeros((n_windows, size), dtype=np.int64)
    node_2d[window, pos] = node_of  # node of each frame, back in time order
    del window, pos, node_of
    edge_key = node_2d[:, 1:] - node_ptr[:-1, None]  # target, local to the window
    edge_key += node_2d[:, :-1] * size  # + global source node
    edge_key *= size
    edge_key += position[:-1]
    del node_2d
    edge_key = _sorted_rows(edge_key, valid[:, 1:])
    if len(edge_key) == 0:
        return graphs
    pair = edge_key // size
    pair_pos = edge_key - pair * size
    del edge_key
    new_edge = _first_mask(pair)  # the source node already tells windows apart
    edge_first = np.flatnonzero(new_edge)
    edge_last = np.append(edge_first[1:], len(pair)) - 1
    edge_count = np.diff(np.append(edge_first, len(pair)))
    source = pair[edge_first] // size
    target = pair[edge_first] - source * size
    edge_window = node_window[source]
    source_frame = windows.start[node_window[pair // size]] + pair_pos
    gap = frames.timestamp[source_frame + 1] - frames.timestamp[source_frame]
    edge_length = length[edge_window]
    edge_of = np.cumsum(new_edge) - 1
    columns = {
        "log_count": np.log1p(edge_count),
        "gap_mean": np.bincount(edge_of, weights=gap, minlength=len(edge_first)) / edge_count,
        "first_position": pair_pos[edge_first] / edge_length,
        "last_position": pair_pos[edge_last] / edge_length,
    }
    edge_attr = np.empty((len(edge_first), len(EDGE_FEATURES)), dtype=np.float32)
    for j, name in enumerate(EDGE_FEATURES):
        edge_attr[:, j] = columns[name]
    edge_index = np.stack([source - node_ptr[edge_window], target]).astype(np.int32)
    return graphs._replace(
        edge_index=edge_index,
        edge_attr=edge_attr,
        edge_ptr=offsets(np.bincount(edge_window, minlength=n_windows)),
    )


def build_graphs(
    frames: FrameArrays,
    windows: Windows,
    vocabulary: np.ndarray,
    chunk_frames: int = CHUNK_FRAMES,
) -> GraphArrays:
    """Graph tensors of every window (raw features, names `NODE_FEATURES`/`EDGE_FEATURES`).

    Windows are processed in runs of about `chunk_frames` frames (a loop over a few chunks, not
    over windows), which bounds the working memory on the full dataset and keeps it in cache.
    """
    n_windows = len(windows)
    if n_windows == 0:
        return _empty_graphs(0)
    chunk = np.cumsum(windows.length) // max(chunk_frames, 1)
    bounds = np.flatnonzero(np.diff(chunk, prepend=-1, append=chunk[-1] + 1))
    parts = [
        _build_chunk(frames, windows.take(slice(a, b)), vocabulary)
        for a, b in itertools.pairwise(bounds)
    ]
    if len(parts) == 1:
        return parts[0]
    return GraphArrays(
        x=np.concatenate([p.x for p in parts]),
        node_id=np.concatenate([p.node_id for p in parts]),
        edge_index=np.concatenate([p.edge_index for p in parts], axis=1),
        edge_attr=np.concatenate([p.edge_attr for p in parts]),
        node_ptr=offsets(np.concatenate([np.diff(p.node_ptr) for p in parts])),
        edge_ptr=offsets(np.concatenate([np.diff(p.edge_ptr) for p in parts])),
    )


def capture_table(frames: pd.DataFrame) -> pd.DataFrame:
    """One row per capture (in frame order): its labels, first frame index and frame count."""
    codes = frames["capture"].astype("category").cat.codes.to_numpy()
    first, n_frames = capture_runs(codes)
    table = frames[list(CAPTURE_COLUMNS)].iloc[first].reset_index(drop=True)
    for column in CAPTURE_COLUMNS:
        table[column] = table[column].astype(str)
    table["first_frame"] = first
    table["n_frames"] = n_frames
    return table


def window_table(
    captures: pd.DataFrame, frames: FrameArrays, windows: Windows, min_attack_frames: int
) -> pd.DataFrame:
    """Metadata of each window (`store.WINDOW_COLUMNS`); label = at least `min_attack_frames`."""
    last = windows.start + windows.length - 1
    attacks = np.zeros(len(frames.attack) + 1, dtype=np.int64)
    np.cumsum(frames.attack, out=attacks[1:])
    n_attack = attacks[last + 1] - attacks[windows.start]
    meta = {}
    for column in ("capture", "scenario", "attack_kind"):
        codes, names = pd.factorize(captures[column])
        meta[column] = pd.Categorical.from_codes(codes[windows.capture], categories=names)
    return pd.DataFrame(
        {
            **meta,
            "start_row": frames.row[windows.start],
            "end_row": frames.row[last],
            "start_time": frames.timestamp[windows.start],
            "end_time": frames.timestamp[last],
            "n_frames": windows.length,
            "n_attack_frames": n_attack,
            "label": (n_attack >= min_attack_frames).astype(np.int64),
        }
    )


@dataclass(frozen=True)
class WindowPlan:
    """Everything known about the windows before any graph is built: the frame arrays, one row
    per capture (with `n_windows`), the windows and their metadata table (`WINDOW_COLUMNS`)."""

    frames: FrameArrays
    captures: pd.DataFrame
    windows: Windows
    table: pd.DataFrame

    def store(self, vocabulary: np.ndarray, indices: np.ndarray | None = None) -> GraphStore:
        """Graph store of the chosen windows (all by default), in the given order."""
        windows, table = self.windows, self.table
        if indices is not None:
            windows = windows.take(np.asarray(indices, dtype=np.int64))
            table = table.iloc[indices].reset_index(drop=True)
            for column in ("capture", "scenario", "attack_kind"):
                table[column] = table[column].cat.remove_unused_categories()
        return GraphStore(
            **build_graphs(self.frames, windows, vocabulary)._asdict(),
            windows=table,
            node_features=NODE_FEATURES,
            edge_features=EDGE_FEATURES,
            num_ids=len(vocabulary) + 1,
        )


def plan_windows(
    frames: pd.DataFrame,
    window_size: int,
    stride: int,
    tail_policy: TailPolicy,
    min_attack_frames: int,
) -> WindowPlan:
    """Cut every capture of a `frames` table into windows and label them."""
    captures = capture_table(frames)
    arrays = FrameArrays.from_frames(frames)
    windows = make_windows(
        captures["first_frame"].to_numpy(),
        captures["n_frames"].to_numpy(),
        window_size,
        stride,
        tail_policy,
    )
    captures["n_windows"] = np.bincount(windows.capture, minlength=len(captures))
    table = window_table(captures, arrays, windows, min_attack_frames)
    return WindowPlan(frames=arrays, captures=captures, windows=windows, table=table)


def build_store(
    frames: pd.DataFrame,
    vocabulary: np.ndarray,
    window_size: int,
    stride: int,
    tail_policy: TailPolicy,
    min_attack_frames: int,
) -> tuple[GraphStore, pd.DataFrame]:
    """Graphs of all windows of all captures, and the capture table with window counts."""
    plan = plan_windows(frames, window_size, stride, tail_policy, min_attack_frames)
    return plan.store(vocabulary), plan.captures
