"""Frames of one capture, block by block in bus order → each window's graph as soon as it completes.

The graphs are the batch builder's (`plan_windows(...).store(...)`, `build_graphs`) for the same
capture, bit for bit, with bounded memory, so a detector can run for hours on a live bus:

- Windows: the batch builder cuts a capture of L frames into windows starting at 0, stride,
  2·stride, … (`kd_gat.graphs.windows`). Window j (frames j·stride … j·stride + window_size − 1)
  is complete once its last frame has arrived; it is built then and never again. Its frames are
  all at or after the start of the next window not yet complete, so the buffer keeps only the
  frames from that start on: fewer than `window_size` between two blocks. `finish()` makes the
  short tail window `tail_policy: keep` adds at the capture's end.
- History: each frame's deviation from its ID's past (`kd_gat.graphs.history`) is computed once,
  when the frame arrives, with `continue_history` and a `HistoryState` carried from block to
  block (at most `max_tracked_ids` + 1 rows: bounded however many one-off IDs a fuzzer sends).
  The buffer keeps each frame's history beside it; `first` is kept as the index of the ID's
  first frame in the capture and re-based on the buffer when a window is built.
- Profile: the capture is matched to a vehicle profile on its first `match_seconds`
  (`kd_gat.profiles.match_captures`: IDs seen `min_count` times in frames earlier than
  first timestamp + `match_seconds`). Those frames' IDs are kept (the match buffer) until a
  frame at or after that time arrives: no earlier frame can come (frames are in time order),
  so the match is then made, once, by `match_captures` itself on them, and resolved as
  `ProfilePrior.build` resolves it. A window reads the profile when its last frame comes at or
  after `matched_from` (= that same time), so no window completed before the match needs it.
  A capture shorter than `match_seconds` is matched at `finish()` (no window reads it).
- Graphs: the completed windows of a block go through the batch builder's own code
  (`build_graphs` on the buffer, with the buffer's history and the resolved prior): the same
  arithmetic on the same values, so the same bits.

Per block: one history step (a sort of the block by ID), one `build_graphs` call for all the
windows the block completes, a few concatenations. No loop per frame or per window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from kd_gat.graphs.builder import (
    NODE_FEATURES,
    FrameArrays,
    GraphArrays,
    _empty_graphs,
    build_graphs,
    packed_payload,
    select_features,
)
from kd_gat.graphs.history import FrameHistory, HistoryState, continue_history
from kd_gat.graphs.prior import ProfilePrior, profile_lookup, profile_periods
from kd_gat.graphs.windows import TailPolicy, Windows, _check, ranges
from kd_gat.profiles import match_captures

# One row per emitted window: its place in the capture (0-based frame indices, end inclusive;
# `row` values when the frames carry them), time span, frames, attack frames, whether it read the
# matched profile, and the capture's matched profile (None: unmatched, or not decided yet).
WINDOW_TABLE_COLUMNS = (
    "ordinal",
    "start_frame",
    "end_frame",
    "start_row",
    "end_row",
    "start_time",
    "end_time",
    "n_frames",
    "n_attack_frames",
    "uses_profile",
    "profile",
)
_CAPTURE = "stream"  # the capture's name in the one-capture match table
# Per-frame history columns kept in the buffer (`first`: the ID's first frame in the capture).
_HISTORY = (
    "iat_ratio",
    "change_excess",
    "flip_excess",
    "period",
    "first",
    "seen",
    "gap",
    "tracked",
)
_FRAMES = ("timestamp", "can_id", "dlc", "payload", "attack", "row")


@dataclass(frozen=True)
class FrameBlock:
    """The next frames of one capture, in time order (the `FrameArrays` columns of one capture;
    `attack` and `row` optional: 0, and the frame's 1-based index in the capture)."""

    timestamp: np.ndarray  # float64
    can_id: np.ndarray  # int64
    dlc: np.ndarray  # uint8
    payload: np.ndarray  # uint64: byte_i in bits 8i..8i+7
    attack: np.ndarray | None = None  # int8
    row: np.ndarray | None = None  # int64

    def __len__(self) -> int:
        return len(self.timestamp)

    @classmethod
    def from_frames(cls, frames: pd.DataFrame) -> FrameBlock:
        """The columns of a `frames` table (docs/interfaces.md) holding one capture's frames."""
        return cls(
            timestamp=frames["timestamp"].to_numpy(dtype=np.float64),
            can_id=frames["can_id"].to_numpy(dtype=np.int64),
            dlc=frames["dlc"].to_numpy(dtype=np.uint8),
            payload=packed_payload(frames),
            attack=frames["attack"].to_numpy(dtype=np.int8) if "attack" in frames else None,
            row=frames["row"].to_numpy(dtype=np.int64) if "row" in frames else None,
        )

    def __getitem__(self, index: slice) -> FrameBlock:
        """The frames at `index` (a slice)."""
        return FrameBlock(
            **{
                f.name: None if getattr(self, f.name) is None else getattr(self, f.name)[index]
                for f in fields(self)
            }
        )


class StreamOutput(NamedTuple):
    """The windows one `feed` (or `finish`) completed: their graphs (raw features, as
    `build_graphs` makes them) and one row per window (`WINDOW_TABLE_COLUMNS`)."""

    graphs: GraphArrays
    windows: pd.DataFrame
    node_can_id: np.ndarray | None = None  # the CAN ID of each node (OOV ones too)


def _empty_table() -> pd.DataFrame:
    """A window table without rows, with the column types of one with rows."""
    types = dict.fromkeys(WINDOW_TABLE_COLUMNS, np.int64)
    types |= {"start_time": np.float64, "end_time": np.float64, "uses_profile": bool}
    types["profile"] = object
    return pd.DataFrame({c: np.zeros(0, dtype=t) for c, t in types.items()})


_EMPTY_TABLE = _empty_table()  # copied for each block that completes no window (8x faster)


def _node_can_ids(can_id: np.ndarray, start: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each node's CAN ID, in the builder's node order (by window, then CAN ID)."""
    window = np.repeat(np.arange(len(start), dtype=np.int64), lengths)
    key = np.unique((window << 32) | can_id[ranges(start, lengths)])
    return key & 0xFFFFFFFF


class GraphStream:
    """Incremental graph builder for one capture: `feed` its frames block by block, in time
    order, then `finish`. Every window comes out once, as soon as its last frame is fed, equal
    to the batch builder's window of the same capture (`plan_windows` with the same
    parameters, and `matches` from `match_captures` with the same profile parameters).

    `profiles`: `{vehicle: profile}` as `match_captures` and `ProfilePrior.build` take them
    (None: the capture is not matched, every profile feature falls back on its own past).
    Memory: fewer than `window_size` frames between blocks, plus the IDs and timestamps of the
    capture's first `match_seconds` until the match, plus the history state (at most
    `max_tracked_ids` + 1 rows; None bounds nothing).
    """

    def __init__(
        self,
        vocabulary: np.ndarray,
        window_size: int,
        stride: int,
        tail_policy: TailPolicy = "drop",
        node_features: tuple[str, ...] = NODE_FEATURES,
        max_tracked_ids: int | None = None,
        known_after: int = 3,
        *,
        profiles: Mapping[str, Any] | None = None,
        match_seconds: float = 3.0,
        min_count: int = 3,
        min_jaccard: float = 0.9,
    ) -> None:
        _check(window_size, stride, tail_policy)
        unknown = sorted(set(node_features) - set(NODE_FEATURES))
        if unknown:
            raise ValueError(f"unknown node features {unknown}")
        if match_seconds <= 0:
            raise ValueError(f"match_seconds must be > 0, got {match_seconds}")
        self.vocabulary = np.asarray(vocabulary, dtype=np.int64)
        self.window_size = window_size
        self.stride = stride
        self.tail_policy = tail_policy
        self.node_features = tuple(node_features)
        self.known_after = known_after
        self.profiles = None if profiles is None else dict(profiles)
        self.match_seconds = match_seconds
        self.min_count = min_count
        self.min_jaccard = min_jaccard
        self._state = HistoryState.start(max_tracked_ids)
        self._buffer: dict[str, np.ndarray] = {}
        self._buffer_start = 0  # capture index of the buffer's first frame
        self._next_window = 0  # ordinal of the next window to complete
        self._last_time = -np.inf
        self._closed = False
        # the profile match: undecided until a frame at or after t0 + match_seconds (or finish)
        self._decided = self.profiles is None
        self._early: list[np.ndarray] = []  # IDs of the frames of the first match_seconds
        self._early_time: list[np.ndarray] = []
        self._profile: str | None = None
        self._prior = ProfilePrior.unmatched(1, 0, known_after)
        self._profile_ids = np.zeros(0, np.int64)
        self._profile_periods = np.zeros(0)

    @classmethod
    def from_params(
        cls,
        vocabulary: np.ndarray,
        graphs: Mapping[str, Any],
        vehicle_profiles: Mapping[str, Any] | None = None,
        profiles_params: Mapping[str, Any] | None = None,
    ) -> GraphStream:
        """The stream `params:graphs` (and `params:profiles`, with the `vehicle_profiles`
        dataset, as `scoring_store` takes them) describe."""
        from kd_gat.params.graphs import GraphsParams
        from kd_gat.params.profiles import ProfilesParams

        g = GraphsParams.model_validate(dict(graphs))
        p = ProfilesParams.model_validate(dict(profiles_params or {}))
        return cls(
            vocabulary,
            g.window_size,
            g.stride,
            g.tail_policy,
            select_features(g.feature_groups),
            g.max_tracked_ids,
            g.known_after,
            profiles=None if vehicle_profiles is None else vehicle_profiles["profiles"],
            match_seconds=p.match_seconds,
            min_count=p.min_count,
            min_jaccard=p.min_jaccard,
        )

    # -- what the stream holds -----------------------------------------------------------------

    @property
    def n_frames(self) -> int:
        """Frames fed so far."""
        return self._state.n_frames

    @property
    def n_buffered(self) -> int:
        """Frames held for windows not yet complete."""
        return len(self._buffer.get("timestamp", ()))

    @property
    def n_match_buffered(self) -> int:
        """Frames of the capture's first `match_seconds` held until the match is made."""
        return sum(len(ids) for ids in self._early)

    @property
    def history_state(self) -> HistoryState:
        """The per-ID history state after the frames fed so far."""
        return self._state

    @property
    def t0(self) -> float:
        """Timestamp of the capture's first frame (NaN before any)."""
        return float(self._state.t0)

    @property
    def match_decided(self) -> bool:
        """Whether the capture's profile (or none) is fixed."""
        return self._decided

    @property
    def profile(self) -> str | None:
        """The capture's matched profile (None: unmatched, or not decided yet)."""
        return self._profile

    @property
    def matched_from(self) -> float:
        """Time from which windows read the profile (inf: unmatched, or not decided yet)."""
        return float(self._prior.matched_from[0])

    # -- feeding -------------------------------------------------------------------------------

    def feed(self, block: FrameBlock | FrameArrays) -> StreamOutput:
        """Take the next frames of the capture; return the windows they complete."""
        if self._closed:
            raise RuntimeError("the stream is finished: start a new GraphStream per capture")
        n = len(block.timestamp)
        columns = {
            "timestamp": np.asarray(block.timestamp, dtype=np.float64),
            "can_id": np.asarray(block.can_id, dtype=np.int64),
            "dlc": np.asarray(block.dlc, dtype=np.uint8),
            "payload": np.asarray(block.payload, dtype=np.uint64),
        }
        attack, row = getattr(block, "attack", None), getattr(block, "row", None)
        first = self._state.n_frames
        columns["attack"] = np.zeros(n, np.int8) if attack is None else np.asarray(attack, np.int8)
        columns["row"] = (
            np.arange(first + 1, first + n + 1, dtype=np.int64)
            if row is None
            else np.asarray(row, np.int64)
        )
        for name, values in columns.items():
            if values.shape != (n,):
                raise ValueError(f"block column {name} has shape {values.shape}, not ({n},)")
        if n == 0:
            return self._output([])
        time = columns["timestamp"]
        if time[0] < self._last_time or (n > 1 and (np.diff(time) < 0).any()):
            raise ValueError(
                "frames must come in time order (as ingestion sorts each capture); a timestamp "
                f"goes back in the frames {first}..{first + n - 1} of the capture"
            )
        self._last_time = float(time[-1])

        history, self._state = continue_history(
            self._state, time, columns["can_id"], columns["payload"]
        )
        columns |= {name: getattr(history, name) for name in _HISTORY}
        columns["first"] = columns["first"] + first  # the ID's first frame, in the capture
        if not self._decided:
            self._collect_match_frames(time, columns["can_id"])
        self._buffer = {  # copies: the caller may reuse its arrays for the next block
            k: np.concatenate([self._buffer[k], v]) if self._buffer else v.copy()
            for k, v in columns.items()
        }

        complete = self.n_frames - self.window_size
        n_complete = complete // self.stride + 1 - self._next_window if complete >= 0 else 0
        ordinals = self._next_window + np.arange(max(n_complete, 0), dtype=np.int64)
        out = self._output(ordinals, np.full(len(ordinals), self.window_size, np.int64))
        self._next_window += len(ordinals)
        self._trim()
        return out

    def finish(self) -> StreamOutput:
        """The capture has ended: make the match if still open, and return the short tail window
        when `tail_policy` is `keep` (nothing otherwise). The stream takes no more frames."""
        if self._closed:
            raise RuntimeError("the stream is already finished")
        if not self._decided:
            self._decide()
        start = self._next_window * self.stride
        tail = self.tail_policy == "keep" and start < self.n_frames
        ordinals = np.arange(self._next_window, self._next_window + tail, dtype=np.int64)
        out = self._output(ordinals, np.full(len(ordinals), self.n_frames - start, np.int64))
        self._closed = True
        self._buffer = {}
        return out

    # -- internals -----------------------------------------------------------------------------

    def _collect_match_frames(self, time: np.ndarray, can_id: np.ndarray) -> None:
        """Keep the frames of the first `match_seconds`; match once a later frame arrives."""
        limit = self._state.t0 + self.match_seconds  # as `match_captures` computes it
        early = int(np.searchsorted(time, limit, side="left"))  # frames with time < limit
        if early:
            self._early.append(can_id[:early].copy())
            self._early_time.append(time[:early].copy())
        if early < len(time):
            self._decide()

    def _decide(self) -> None:
        """Match the capture on its first `match_seconds`, exactly as the batch pipeline does
        (`match_captures` on those frames, `ProfilePrior.build` on the match)."""
        assert self.profiles is not None
        ids = np.concatenate(self._early) if self._early else np.zeros(0, np.int64)
        time = np.concatenate(self._early_time) if self._early_time else np.zeros(0)
        self._early, self._early_time = [], []
        self._decided = True
        if len(ids) == 0:  # no frame at all: nothing to match
            return
        table = pd.DataFrame({"capture": _CAPTURE, "timestamp": time, "can_id": ids})
        matches = match_captures(
            table, self.profiles, self.match_seconds, self.min_count, self.min_jaccard
        )
        prior = ProfilePrior.build(
            [_CAPTURE], np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64),
            matches, self.profiles, self.known_after,
        )  # fmt: skip
        if np.isfinite(prior.matched_from[0]):
            self._profile = str(matches["profile"].iloc[0])
            self._profile_ids, self._profile_periods = profile_periods(self.profiles[self._profile])
        self._prior = prior

    def _trim(self) -> None:
        """Drop the buffered frames before the next window's start."""
        keep_from = min(self._next_window * self.stride, self.n_frames)
        drop = keep_from - self._buffer_start
        if drop > 0:
            self._buffer = {k: v[drop:].copy() for k, v in self._buffer.items()}
            self._buffer_start = keep_from

    def _output(self, ordinals: np.ndarray, lengths: np.ndarray | None = None) -> StreamOutput:
        """Graphs and table rows of the windows `ordinals` (their `lengths` frames each)."""
        n_windows = len(ordinals)
        if n_windows == 0:
            empty = _empty_graphs(0, len(self.node_features))
            return StreamOutput(empty, _EMPTY_TABLE.copy(), np.zeros(0, np.int64))
        b = self._buffer
        n = len(b["timestamp"])
        start = np.asarray(ordinals, np.int64) * self.stride - self._buffer_start
        windows = Windows(start, lengths, np.zeros(n_windows, np.int64), ordinals)
        frames = FrameArrays(**{k: b[k] for k in _FRAMES}, capture=np.zeros(n, np.int64))
        history = FrameHistory(
            **{k: b[k] for k in _HISTORY if k != "first"},
            first=b["first"] - self._buffer_start,
            capture_start=np.full(n, -self._buffer_start, np.int64),
            capture_t0=np.full(n, self._state.t0),
        )
        graphs = build_graphs(
            frames, windows, self.vocabulary, history, self.node_features, prior=self._resolved(n)
        )
        last = start + lengths - 1
        attacks = np.concatenate([[0], np.cumsum(b["attack"], dtype=np.int64)])
        end_time = b["timestamp"][last]
        table = pd.DataFrame(
            {
                "ordinal": ordinals,
                "start_frame": start + self._buffer_start,
                "end_frame": last + self._buffer_start,
                "start_row": b["row"][start],
                "end_row": b["row"][last],
                "start_time": b["timestamp"][start],
                "end_time": end_time,
                "n_frames": lengths,
                "n_attack_frames": attacks[last + 1] - attacks[start],
                "uses_profile": self._prior.matched_from[0] <= end_time,
                "profile": pd.Series([self._profile] * n_windows, dtype=object),
            }
        )
        return StreamOutput(graphs, table, _node_can_ids(b["can_id"], start, lengths))

    def _resolved(self, n: int) -> ProfilePrior:
        """The capture's prior over the `n` buffered frames."""
        if not np.isfinite(self._prior.matched_from[0]):
            return ProfilePrior.unmatched(1, n, self.known_after)
        in_profile, period = profile_lookup(
            self._profile_ids, self._profile_periods, self._buffer["can_id"]
        )
        return ProfilePrior(
            self._prior.matched_from,
            self._prior.rate,
            self._prior.sorted_periods,
            in_profile,
            period,
            self.known_after,
        )
