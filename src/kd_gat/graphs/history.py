"""Vehicle-agnostic context of every frame: how it deviates from its own CAN ID's past.

Another car has other IDs, periods and payloads; what carries over is how a frame departs from
its ID's normal behaviour on *this* car. So for each frame we compare it with the earlier frames
of the same ID in the same capture (causal: nothing after the frame is read):

- `iat_ratio`: log2(time since the ID's previous frame / the ID's running period), the running
  period being the mean of the ID's earlier gaps. An injected frame halves a gap (≈ −1), a
  suppressed one doubles it (≈ +1). 0 until the ID has two earlier gaps; clipped to ±`RATIO_CLIP`.
- `change_excess` / `flip_excess`: whether the payload changed since the ID's previous frame (and
  the share of its 64 bits that flipped) minus the ID's running rate of doing so. 0 until the ID
  has one earlier change to compare with.
- `period`: the ID's running period *before* the frame (NaN when unknown); the builder turns it
  into an expected frame count for a window.
- `first`: index of the ID's first frame in the capture, to tell whether a window's ID is new.
- `seen`: how many earlier frames of the ID the capture holds (0 for untracked IDs).
- `gap`: time since the ID's previous frame (NaN for its first frame and for untracked IDs),
  which the builder measures against the matched profile's period (`kd_gat.graphs.prior`).

The state per capture is bounded: only the first `max_tracked_ids` distinct IDs (in order of first
appearance) keep their own history. Later IDs share one overflow history and always count as new
(fuzzing brings hundreds of one-off IDs; a streaming detector cannot remember them all).

Vectorised: one stable sort by (capture, tracked ID) makes each history a contiguous run in time
order; running means are cumulative sums restarted per run. No loop per frame or per ID.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATIO_CLIP = 8.0  # |log2| bound of a frame's gap / period ratio (a 256× slower or faster frame)


@dataclass(frozen=True)
class FrameHistory:
    """Per frame (aligned on the frame order): its deviation from its ID's past."""

    iat_ratio: np.ndarray  # float64
    change_excess: np.ndarray  # float64
    flip_excess: np.ndarray  # float64
    period: np.ndarray  # float64, NaN when unknown
    first: np.ndarray  # int64: the frame index where the ID's history starts
    seen: np.ndarray  # int64: earlier frames of the ID in the capture (0 when untracked)
    gap: np.ndarray  # float64: time since the ID's previous frame (NaN: none, or untracked)
    tracked: np.ndarray  # bool: False for IDs beyond the per-capture state bound
    capture_start: np.ndarray  # int64: index of the first frame of the frame's capture


def _run_starts(key: np.ndarray) -> np.ndarray:
    """True where a sorted key starts a new run."""
    start = np.ones(len(key), dtype=bool)
    start[1:] = key[1:] != key[:-1]
    return start


def _state_keys(
    capture: np.ndarray, can_id: np.ndarray, max_tracked_ids: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable order grouping frames by (capture, tracked ID), the sorted keys and `tracked`."""
    key = (capture.astype(np.int64) << 32) | can_id.astype(np.int64)
    order = np.argsort(key, kind="stable")
    tracked = np.ones(len(key), dtype=bool)
    if max_tracked_ids is None or len(key) == 0:
        return order, key[order], tracked
    sorted_key = key[order]
    starts = np.flatnonzero(_run_starts(sorted_key))
    first_frame = order[starts]  # each (capture, ID)'s first frame (the sort is stable)
    by_time = np.argsort(first_frame, kind="stable")
    run_capture = sorted_key[starts][by_time] >> 32
    rank = np.arange(len(by_time)) - np.searchsorted(run_capture, run_capture, side="left")
    run_tracked = np.empty(len(starts), dtype=bool)
    run_tracked[by_time] = rank < max_tracked_ids
    if run_tracked.all():
        return order, sorted_key, tracked
    lengths = np.diff(np.append(starts, len(key)))
    tracked[order] = np.repeat(run_tracked, lengths)
    key = np.where(tracked, key, (capture.astype(np.int64) << 32) | (1 << 31))
    order = np.argsort(key, kind="stable")
    return order, key[order], tracked


def frame_history(
    capture: np.ndarray,
    timestamp: np.ndarray,
    can_id: np.ndarray,
    payload: np.ndarray,
    max_tracked_ids: int | None = None,
) -> FrameHistory:
    """The `FrameHistory` of frames grouped by capture (`capture`: any code that is constant
    over each capture's contiguous run), each capture in time order.

    `payload` holds the 8 bytes of each frame as one uint64; `max_tracked_ids` bounds the IDs
    with their own history per capture (None: no bound).
    """
    n = len(timestamp)
    new_capture = np.ones(n, dtype=bool)
    new_capture[1:] = capture[1:] != capture[:-1]
    capture_run = np.cumsum(new_capture) - 1  # ascending in frame order, whatever the codes
    capture_start = np.flatnonzero(new_capture)[capture_run]
    order, key, tracked = _state_keys(capture_run, can_id, max_tracked_ids)
    start = _run_starts(key)
    run_first = np.flatnonzero(start)
    run_of = np.cumsum(start) - 1
    k = np.arange(n, dtype=np.int64) - run_first[run_of]  # frames of the ID before this one

    t = timestamp[order]
    gap = np.zeros(n)
    gap[1:] = np.diff(t)
    t_prev = np.roll(t, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        period = np.where(k >= 2, (t_prev - t[run_first[run_of]]) / (k - 1), np.nan)
        ratio = np.log2(np.maximum(gap, 1e-9) / period)
    iat_ratio = np.where(k >= 2, np.clip(np.nan_to_num(ratio, nan=0.0), -RATIO_CLIP, RATIO_CLIP), 0)

    p = payload[order]
    xor = np.zeros(n, dtype=np.uint64)
    np.bitwise_xor(p[1:], p[:-1], out=xor[1:])
    xor[start] = 0
    change = (xor != 0).astype(np.float64)
    flip = np.bitwise_count(xor).astype(np.float64) / 64.0

    def excess(values: np.ndarray) -> np.ndarray:
        """values − the run's mean of the values of its earlier transitions (k ≥ 2)."""
        total = np.cumsum(values)
        before = total - values  # sum over the run's earlier frames (its first frame adds 0)
        before -= (total - values)[run_first][run_of]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = before / (k - 1)
        return np.where(k >= 2, values - mean, 0.0)

    out = {
        "iat_ratio": iat_ratio,
        "change_excess": excess(change),
        "flip_excess": excess(flip),
        "period": period,
        "first": order[run_first][run_of],
        "seen": k,
        "gap": np.where(k >= 1, gap, np.nan),
    }
    aligned = {}
    for name, values in out.items():
        back = np.empty_like(values)
        back[order] = values
        aligned[name] = back
    aligned["seen"][~tracked] = 0
    aligned["gap"][~tracked] = np.nan
    return FrameHistory(**aligned, tracked=tracked, capture_start=capture_start)
