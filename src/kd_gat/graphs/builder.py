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
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from kd_gat.graphs.history import RATIO_CLIP, FrameHistory, frame_history
from kd_gat.graphs.prior import ProfilePrior
from kd_gat.graphs.vocabulary import lookup
from kd_gat.graphs.windows import TailPolicy, Windows, capture_runs, make_windows, offsets
from kd_gat.ingestion.frames import BYTE_COLUMNS, CAPTURE_COLUMNS, PAYLOAD_BYTES

if TYPE_CHECKING:  # the store brings torch; the graph arrays themselves are pure numpy
    from kd_gat.graphs.store import GraphStore

FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    # What the frames of the ID carry in this window. Payload and timing are specific to each
    # car's IDs; history (timing), rates (payload), novelty and context (bus load) are relative
    # to the ID's (the bus's) own past in the capture and carry over to a car the models never
    # saw (kd_gat.graphs.history); profile, to the car's matched vehicle profile.
    "payload": (
        *(f"byte_{i}_mean" for i in range(PAYLOAD_BYTES)),  # mean payload byte / 255
        "dlc_mean",  # mean DLC / 8
    ),
    "timing": (
        "frame_share",  # share of the window's frames that carry this ID
        "iat_mean",  # mean inter-arrival time (s) between this ID's frames in the window
        "iat_std",  # their standard deviation (s); 0 with fewer than two gaps
    ),
    "change": (
        "payload_change_rate",  # share of consecutive frames of the ID whose payload changed
        "payload_bit_flip_rate",  # mean Hamming distance between consecutive payloads / 64
    ),
    "oov": ("oov",),  # 1 if the ID is out of vocabulary
    "history": (
        "iat_ratio_mean",  # mean over the node's frames of log2(gap / the ID's running period)
        "iat_ratio_min",  # its minimum (an injected frame) ...
        "iat_ratio_max",  # ... and maximum (a suppressed frame)
        "count_ratio",  # log2((frames + 1) / (expected + 1)); expected = window span / period
    ),
    "rates": (
        "change_excess",  # mean payload change − the ID's running change rate
        "flip_excess",  # mean bit-flip share − the ID's running bit-flip share
    ),
    "novelty": (
        "new_id",  # 1 if the ID was not seen in the capture before this window (or untracked)
        "new_id_share",  # share of the window's nodes that are new
    ),
    "context": (
        "bus_load_ratio",  # log2(window frame rate / the capture's frame rate before it)
    ),
    # Relative to the car's matched vehicle profile (kd_gat.graphs.prior), falling back on the
    # capture's own past where no profile is matched yet.
    "profile": (
        "unknown_id",  # 1 if the ID is neither in the profile nor seen `known_after` times before
        "profile_count_ratio",  # count_ratio with the profile's period for the ID
        "missing_share",  # share of the profile's IDs expected twice in the window that it lacks
        "profile_iat_ratio_mean",  # iat_ratio_* with the profile's period for the ID
        "profile_iat_ratio_min",
        "profile_iat_ratio_max",
        "profile_load_ratio",  # log2(window frame rate / the profile's frame rate)
    ),
}
# Every node feature, in store order (a store keeps a selection, in this order).
NODE_FEATURES: tuple[str, ...] = (
    *FEATURE_GROUPS["payload"][:PAYLOAD_BYTES],
    "frame_share",
    "dlc_mean",
    "iat_mean",
    "iat_std",
    *FEATURE_GROUPS["change"],
    *FEATURE_GROUPS["oov"],
    *FEATURE_GROUPS["history"],
    *FEATURE_GROUPS["rates"],
    "new_id",
    "bus_load_ratio",
    "new_id_share",
    *FEATURE_GROUPS["profile"],
)
EDGE_FEATURES: tuple[str, ...] = (
    "log_count",  # log1p(number of a→b transitions in the window)
    "gap_mean",  # mean time (s) from the a frame to the following b frame
    "first_position",  # window position of the first transition's a frame / window length
    "last_position",  # same for the last transition
)
CHUNK_FRAMES = 1 << 18  # frames per chunk of windows built at once
_PAD = np.iinfo(np.int64).max


def packed_payload(frames: pd.DataFrame) -> np.ndarray:
    """The 8 payload bytes of each frame of a `frames` table as one uint64 (byte_i in bits
    8i..8i+7), the form in which the history and the builder compare payloads."""
    payload = np.empty((len(frames), PAYLOAD_BYTES), dtype=np.uint8)
    for i, column in enumerate(BYTE_COLUMNS):
        payload[:, i] = frames[column].to_numpy(dtype=np.uint8)
    return payload.view("<u8").reshape(-1)


@dataclass(frozen=True)
class FrameArrays:
    """The frame columns the builder reads, aligned on the frame order (sorted by capture)."""

    timestamp: np.ndarray  # float64
    can_id: np.ndarray  # int64
    dlc: np.ndarray  # uint8
    payload: np.ndarray  # uint64: byte_i in bits 8i..8i+7
    attack: np.ndarray  # int8
    row: np.ndarray  # int64
    capture: np.ndarray  # int64: the capture's code, constant over its contiguous run

    @classmethod
    def from_frames(cls, frames: pd.DataFrame) -> FrameArrays:
        """Pick the columns of a `frames` table (docs/interfaces.md)."""
        return cls(
            timestamp=frames["timestamp"].to_numpy(dtype=np.float64),
            can_id=frames["can_id"].to_numpy(dtype=np.int64),
            dlc=frames["dlc"].to_numpy(dtype=np.uint8),
            payload=packed_payload(frames),
            attack=frames["attack"].to_numpy(dtype=np.int8),
            row=frames["row"].to_numpy(dtype=np.int64),
            capture=frames["capture"].astype("category").cat.codes.to_numpy().astype(np.int64),
        )

    def history(self, max_tracked_ids: int | None = None) -> FrameHistory:
        """Each frame against its ID's past in its capture (`kd_gat.graphs.history`)."""
        return frame_history(
            self.capture, self.timestamp, self.can_id, self.payload, max_tracked_ids
        )


class GraphArrays(NamedTuple):
    """Concatenated graph tensors of all windows (raw, un-normalised features)."""

    x: np.ndarray
    node_id: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    node_ptr: np.ndarray
    edge_ptr: np.ndarray


def _empty_graphs(n_windows: int, n_features: int = len(NODE_FEATURES)) -> GraphArrays:
    return GraphArrays(
        x=np.zeros((0, n_features), np.float32),
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


def _log2_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """log2(numerator / denominator), clipped to ±RATIO_CLIP; 0 where it is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log2(numerator / denominator)
    ratio = np.nan_to_num(ratio, nan=0.0, posinf=RATIO_CLIP, neginf=-RATIO_CLIP)
    return np.clip(ratio, -RATIO_CLIP, RATIO_CLIP)


@dataclass(frozen=True)
class _Nodes:
    """The nodes of a chunk of windows: their frames grouped by node, in time order."""

    frame: np.ndarray  # global frame index, grouped by node
    new_node: np.ndarray  # True at a node's first frame in `frame`
    node_of: np.ndarray  # node of each entry of `frame`
    first: np.ndarray  # position in `frame` of each node's first frame
    count: np.ndarray  # frames per node
    window: np.ndarray  # window (of the chunk) of each node


def _node_features(
    frames: FrameArrays,
    history: FrameHistory,
    prior: ProfilePrior,
    windows: Windows,
    nodes: _Nodes,
    oov: np.ndarray,
    names: tuple[str, ...],
) -> np.ndarray:
    """The `names` columns (from `NODE_FEATURES`) of every node."""
    frame, new_node, node_of, count = nodes.frame, nodes.new_node, nodes.node_of, nodes.count
    n_nodes = len(count)

    def node_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(node_of, weights=values, minlength=n_nodes)

    columns: dict[str, np.ndarray] = {}
    payload = frames.payload[frame]
    payload_bytes = payload.view(np.uint8).reshape(-1, PAYLOAD_BYTES)
    for b in range(PAYLOAD_BYTES):  # a loop over the 8 byte columns, not over windows
        columns[f"byte_{b}_mean"] = node_sum(payload_bytes[:, b]) / (255.0 * count)
    columns["frame_share"] = count / windows.length[nodes.window]
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
    columns |= _history_features(frames, history, prior, windows, nodes)
    x = np.empty((n_nodes, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        x[:, j] = columns[name]
    return x


def _history_features(
    frames: FrameArrays,
    history: FrameHistory,
    prior: ProfilePrior,
    windows: Windows,
    nodes: _Nodes,
) -> dict[str, np.ndarray]:
    """The `history`, `rates`, `novelty`, `context` and `profile` groups of every node (see
    `FEATURE_GROUPS`)."""
    frame, count, window = nodes.frame, nodes.count, nodes.window
    n_nodes = len(count)
    ratio = history.iat_ratio[frame]
    columns = {
        "iat_ratio_mean": np.bincount(nodes.node_of, ratio, n_nodes) / count,
        "iat_ratio_min": np.minimum.reduceat(ratio, nodes.first) if n_nodes else ratio[:0],
        "iat_ratio_max": np.maximum.reduceat(ratio, nodes.first) if n_nodes else ratio[:0],
        "change_excess": np.bincount(nodes.node_of, history.change_excess[frame], n_nodes) / count,
        "flip_excess": np.bincount(nodes.node_of, history.flip_excess[frame], n_nodes) / count,
    }
    # A window covers its frames' time span plus one mean frame gap.
    start, length = windows.start, windows.length
    last = start + length - 1
    elapsed = frames.timestamp[last] - frames.timestamp[start]
    span = np.where(length > 1, elapsed * length / np.maximum(length - 1, 1), 0.0)
    first_frame = frame[nodes.first]
    expected = span[window] / history.period[first_frame]
    columns["count_ratio"] = _log2_ratio(count + 1.0, np.nan_to_num(expected, nan=np.inf) + 1.0)
    unknown = np.isnan(history.period[first_frame])
    columns["count_ratio"][unknown] = 0.0
    new_id = ~history.tracked[first_frame] | (history.first[first_frame] >= start[window])
    columns["new_id"] = new_id
    n_node_per_window = np.bincount(window, minlength=len(start))
    share = np.bincount(window, new_id, len(start)) / np.maximum(n_node_per_window, 1)
    columns["new_id_share"] = share[window]
    # Bus load: the window's frame rate over the capture's rate before the window.
    before = start - history.capture_start[start]
    since = frames.timestamp[start] - history.capture_t0[start]
    with np.errstate(divide="ignore", invalid="ignore"):
        window_rate = (length - 1) / elapsed  # frames per second; not finite or 0: unmeasured
        load = _log2_ratio(window_rate, before / since)
    load[(before == 0) | (length < 2)] = 0.0
    columns["bus_load_ratio"] = load[window]
    uses_profile = prior.matched_from[windows.capture] <= frames.timestamp[last]
    return columns | _profile_features(
        prior,
        history,
        uses_profile,
        windows.capture,
        nodes,
        span,
        first_frame,
        columns["count_ratio"],
        window_rate,
        load,
    )


def _profile_features(
    prior: ProfilePrior,
    history: FrameHistory,
    uses: np.ndarray,
    capture: np.ndarray,
    nodes: _Nodes,
    span: np.ndarray,
    first_frame: np.ndarray,
    count_ratio: np.ndarray,
    window_rate: np.ndarray,
    load: np.ndarray,
) -> dict[str, np.ndarray]:
    """The `profile` group (`kd_gat.graphs.prior`) of every node; `uses`: per window, whether
    its last frame comes at or after its capture's `matched_from` (it reads the profile);
    `count_ratio` (per node), `window_rate` and `load` (per window): the running-reference
    values a node or window without a profile reference keeps."""
    window, count = nodes.window, nodes.count
    in_profile = uses[window] & prior.in_profile[first_frame]
    unknown = ~in_profile & (history.seen[first_frame] < prior.known_after)
    period = np.where(in_profile, prior.period[first_frame], np.nan)
    profile_ratio = _log2_ratio(count + 1.0, span[window] / period + 1.0)
    has_period = np.isfinite(period) & (period > 0)
    half_span = span / 2.0
    expected = np.where(uses, prior.expected_ids(capture, half_span), 0)
    present = np.bincount(window, has_period & (period <= half_span[window]), len(uses))
    missing = np.where(expected > 0, (expected - present) / np.maximum(expected, 1), 0.0)
    # each frame's gap against the profile's period of its ID (its node's); the running ratio
    # where the node has no profile period; 0 for an ID's first frame in the capture
    frame_period = np.repeat(np.where(has_period, period, np.nan), count)
    gap = history.gap[nodes.frame]
    with np.errstate(divide="ignore", invalid="ignore"):
        own = _log2_ratio(np.maximum(gap, 1e-9), frame_period)
    ratio = np.where(
        np.isfinite(frame_period),
        np.where(np.isfinite(gap), own, 0.0),
        history.iat_ratio[nodes.frame],
    )
    rate = prior.rate[capture]
    with np.errstate(divide="ignore", invalid="ignore"):
        own_load = _log2_ratio(window_rate, rate)
    measured = uses & np.isfinite(rate) & np.isfinite(window_rate) & (window_rate > 0)
    n_nodes = len(count)
    return {
        "unknown_id": unknown,
        "profile_count_ratio": np.where(has_period, profile_ratio, count_ratio),
        "missing_share": missing[window],
        "profile_iat_ratio_mean": np.bincount(nodes.node_of, ratio, n_nodes) / count,
        "profile_iat_ratio_min": np.minimum.reduceat(ratio, nodes.first) if n_nodes else ratio[:0],
        "profile_iat_ratio_max": np.maximum.reduceat(ratio, nodes.first) if n_nodes else ratio[:0],
        "profile_load_ratio": np.where(measured, own_load, load)[window],
    }


def _build_chunk(
    frames: FrameArrays,
    history: FrameHistory,
    prior: ProfilePrior,
    windows: Windows,
    vocabulary: np.ndarray,
    names: tuple[str, ...],
) -> GraphArrays:
    """Graph tensors of a run of windows, all at once (node feature columns `names`)."""
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
    nodes = _Nodes(
        frame=windows.start[window] + pos,
        new_node=new_node,
        node_of=node_of,
        first=node_first,
        count=count,
        window=node_window,
    )
    oov = node_id == len(vocabulary)
    x = _node_features(frames, history, prior, windows, nodes, oov, names)
    del nodes
    graphs = _empty_graphs(n_windows, len(names))._replace(
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


def select_features(groups: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The node features of the chosen `FEATURE_GROUPS`, in `NODE_FEATURES` order."""
    unknown = sorted(set(groups) - set(FEATURE_GROUPS))
    if unknown:
        raise ValueError(f"unknown feature groups {unknown}; known: {sorted(FEATURE_GROUPS)}")
    chosen = {name for group in groups for name in FEATURE_GROUPS[group]}
    return tuple(name for name in NODE_FEATURES if name in chosen)


def build_graphs(
    frames: FrameArrays,
    windows: Windows,
    vocabulary: np.ndarray,
    history: FrameHistory | None = None,
    node_features: tuple[str, ...] = NODE_FEATURES,
    chunk_frames: int = CHUNK_FRAMES,
    prior: ProfilePrior | None = None,
) -> GraphArrays:
    """Graph tensors of every window (raw features: the `node_features` columns, in that order,
    and `EDGE_FEATURES`). `history` is `frames.history()` (computed when not given); `prior`
    the captures' matched profiles (none matched when not given).

    Windows are processed in runs of about `chunk_frames` frames (a loop over a few chunks, not
    over windows), which bounds the working memory on the full dataset and keeps it in cache.
    """
    n_windows = len(windows)
    if n_windows == 0:
        return _empty_graphs(0, len(node_features))
    unknown = sorted(set(node_features) - set(NODE_FEATURES))
    if unknown:
        raise ValueError(f"unknown node features {unknown}")
    history = frames.history() if history is None else history
    if prior is None:
        n_captures = int(windows.capture.max()) + 1
        prior = ProfilePrior.unmatched(n_captures, len(frames.timestamp))
    chunk = np.cumsum(windows.length) // max(chunk_frames, 1)
    bounds = np.flatnonzero(np.diff(chunk, prepend=-1, append=chunk[-1] + 1))
    parts = [
        _build_chunk(frames, history, prior, windows.take(slice(a, b)), vocabulary, node_features)
        for a, b in itertools.pairwise(bounds)
    ]
    return parts[0] if len(parts) == 1 else concat_graphs(parts, len(node_features))


def concat_graphs(parts: list[GraphArrays], n_features: int = len(NODE_FEATURES)) -> GraphArrays:
    """Graph arrays of consecutive runs of windows, as one (pointers re-based)."""
    if not parts:
        return _empty_graphs(0, n_features)
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
    history: FrameHistory
    prior: ProfilePrior
    node_features: tuple[str, ...] = NODE_FEATURES

    def store(self, vocabulary: np.ndarray, indices: np.ndarray | None = None) -> GraphStore:
        """Graph store of the chosen windows (all by default), in the given order."""
        from kd_gat.graphs.store import GraphStore

        windows, table = self.windows, self.table
        if indices is not None:
            windows = windows.take(np.asarray(indices, dtype=np.int64))
            table = table.iloc[indices].reset_index(drop=True)
            for column in ("capture", "scenario", "attack_kind"):
                table[column] = table[column].cat.remove_unused_categories()
        return GraphStore(
            **build_graphs(
                self.frames,
                windows,
                vocabulary,
                self.history,
                self.node_features,
                prior=self.prior,
            )._asdict(),
            windows=table,
            node_features=self.node_features,
            edge_features=EDGE_FEATURES,
            num_ids=len(vocabulary) + 1,
        )


def plan_windows(
    frames: pd.DataFrame,
    window_size: int,
    stride: int,
    tail_policy: TailPolicy,
    min_attack_frames: int,
    *,
    node_features: tuple[str, ...] = NODE_FEATURES,
    max_tracked_ids: int | None = None,
    matches: pd.DataFrame | None = None,
    profiles: dict | None = None,
    known_after: int = 3,
) -> WindowPlan:
    """Cut every capture of a `frames` table into windows and label them; each frame's history
    (`max_tracked_ids` IDs per capture) and matched profile (`matches` of the captures against
    `profiles`, `kd_gat.graphs.prior`) are resolved once for every store built from the plan."""
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
    return WindowPlan(
        frames=arrays,
        captures=captures,
        windows=windows,
        table=table,
        history=arrays.history(max_tracked_ids),
        prior=ProfilePrior.build(
            captures["capture"],
            captures["first_frame"].to_numpy(),
            captures["n_frames"].to_numpy(),
            arrays.can_id,
            matches,
            profiles,
            known_after,
        ),
        node_features=node_features,
    )


def build_store(
    frames: pd.DataFrame,
    vocabulary: np.ndarray,
    window_size: int,
    stride: int,
    tail_policy: TailPolicy,
    min_attack_frames: int,
    *,
    node_features: tuple[str, ...] = NODE_FEATURES,
    max_tracked_ids: int | None = None,
    matches: pd.DataFrame | None = None,
    profiles: dict | None = None,
    known_after: int = 3,
) -> tuple[GraphStore, pd.DataFrame]:
    """Graphs of all windows of all captures, and the capture table with window counts."""
    plan = plan_windows(
        frames,
        window_size,
        stride,
        tail_policy,
        min_attack_frames,
        node_features=node_features,
        max_tracked_ids=max_tracked_ids,
        matches=matches,
        profiles=profiles,
        known_after=known_after,
    )
    return plan.store(vocabulary), plan.captures
