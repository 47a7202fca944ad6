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

Streaming (`continue_history`): the same history, one block of a capture's frames at a time. A
`HistoryState` carries, per tracked ID (and the overflow history), what the running values need
of the earlier frames: their count, first and last timestamps, last payload, the sums of their
payload-change and bit-flip values and the absolute index of the first one; plus the capture's
first frame (index and timestamp) and the frames seen so far. A block is one stable sort by
tracked ID; each run picks up its state with one `searchsorted` over the state's sorted IDs, and
the new state is the runs' last values merged with the untouched rows. The result is bit for bit
the one-call history: timestamps enter the same subtractions, and the sums are exact (a change is
0 or 1, a bit-flip share a multiple of 1/64: dyadic numbers, exact in float64 below 2**46 frames),
so regrouping them rounds nothing. Indices (`first`, `capture_start`) are relative to the block's
first frame (negative when earlier), and `capture_t0` carries the capture's first timestamp, so a
builder can read them on a buffer that keeps only the last frames.
"""

from __future__ import annotations

from collections.abc import Callable
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
    # (`first`, `capture_start`: from `continue_history`, relative to the block's first frame)
    capture_t0: np.ndarray  # float64: timestamp of the first frame of the frame's capture


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


def _period_and_ratio(
    t_prev: np.ndarray, t_first: np.ndarray, gap: np.ndarray, k: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the ID's running period before it (NaN under two earlier gaps) and the
    clipped log2 of its gap over that period (0 until defined)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        period = np.where(k >= 2, (t_prev - t_first) / (k - 1), np.nan)
        ratio = np.log2(np.maximum(gap, 1e-9) / period)
    iat_ratio = np.where(k >= 2, np.clip(np.nan_to_num(ratio, nan=0.0), -RATIO_CLIP, RATIO_CLIP), 0)
    return period, iat_ratio


def _in_frame_order(
    out: dict[str, np.ndarray], order: np.ndarray, tracked: np.ndarray
) -> dict[str, np.ndarray]:
    """The per-frame columns computed in `order` (grouped by ID), back in frame order; an
    untracked ID has no earlier frames and no gap of its own."""
    aligned = {}
    for name, values in out.items():
        back = np.empty_like(values)
        back[order] = values
        aligned[name] = back
    aligned["seen"][~tracked] = 0
    aligned["gap"][~tracked] = np.nan
    return aligned


Carried = Callable[[str, np.ndarray], np.ndarray]


def _grouped_history(
    order: np.ndarray,
    start: np.ndarray,
    timestamp: np.ndarray,
    payload: np.ndarray,
    carried: Carried,
    base: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The history columns of frames grouped into runs (one per history) by `order`, each run
    in time order (`start`: True where the sorted frames start a run).

    `carried(name, own)` gives per run the value of the `HistoryState` row `name` that the run
    continues, or `own` (the run's own first values) where it starts afresh; `base` is the
    absolute index of the first frame at hand. Returns the columns in `order` (`first`
    relative to `base`) and the per-run values a `HistoryState` keeps (`first` absolute).
    """
    n = len(order)
    run_first = np.flatnonzero(start)
    last = np.ones(n, dtype=bool)
    last[:-1] = start[1:]
    run_last = np.flatnonzero(last)
    run_of = np.cumsum(start) - 1
    count_before = carried("count", np.zeros(len(run_first), np.int64))
    k = np.arange(n, dtype=np.int64) - run_first[run_of] + count_before[run_of]

    t = timestamp[order]
    t_prev = np.roll(t, 1)
    t_prev[run_first] = carried("t_last", t[run_first])
    t_first = carried("t_first", t[run_first])
    gap = t - t_prev
    period, iat_ratio = _period_and_ratio(t_prev, t_first[run_of], gap, k)

    p = payload[order]
    p_prev = np.roll(p, 1)
    p_prev[run_first] = carried("payload", p[run_first])  # a new history: xor 0
    xor = np.bitwise_xor(p, p_prev)
    change = (xor != 0).astype(np.float64)
    flip = np.bitwise_count(xor).astype(np.float64) / 64.0

    def excess(values: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
        """values − the run's mean over its earlier transitions (k ≥ 2), and the run's sum."""
        before = np.cumsum(values) - values
        before -= before[run_first][run_of]
        before += carried(name, np.zeros(len(run_first)))[run_of]  # exact: dyadic values
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = before / (k - 1)
        return np.where(k >= 2, values - mean, 0.0), before[run_last] + values[run_last]

    change_excess, change_sum = excess(change, "change_sum")
    flip_excess, flip_sum = excess(flip, "flip_sum")
    first = carried("first", base + order[run_first])
    columns = {
        "iat_ratio": iat_ratio,
        "change_excess": change_excess,
        "flip_excess": flip_excess,
        "period": period,
        "first": first[run_of] - base,
        "seen": k,
        "gap": np.where(k >= 1, gap, np.nan),
    }
    runs = {
        "count": count_before + (run_last - run_first + 1),
        "t_first": t_first,
        "t_last": t[run_last],
        "payload": p[run_last],
        "change_sum": change_sum,
        "flip_sum": flip_sum,
        "first": first,
    }
    return columns, runs


def _afresh(_name: str, own: np.ndarray) -> np.ndarray:
    """`Carried` for histories that start in the frames at hand."""
    return own


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
    columns, _ = _grouped_history(order, _run_starts(key), timestamp, payload, _afresh)
    return FrameHistory(
        **_in_frame_order(columns, order, tracked),
        tracked=tracked,
        capture_start=capture_start,
        capture_t0=timestamp[capture_start],
    )


OVERFLOW_KEY = np.iinfo(np.int64).max  # the state key of the shared history of untracked IDs
# per-ID rows of a `HistoryState` after its `key`, as `_grouped_history` names them
STATE_ROWS = ("count", "t_first", "t_last", "payload", "change_sum", "flip_sum", "first")


@dataclass(frozen=True)
class HistoryState:
    """What the history of one capture's frames so far leaves for its next frames.

    One row per tracked CAN ID, in ID order, then one for the overflow history of untracked IDs
    (key `OVERFLOW_KEY`) once there is one: at most `max_tracked_ids` + 1 rows. Per row: frames
    seen, first and last timestamp, last payload (uint64), sums of the payload-change and
    bit-flip values of its transitions, absolute index of its first frame. Per capture: the
    absolute index (`start_index`) and timestamp (`t0`, NaN before any frame) of its first frame
    and the frames seen so far.
    """

    max_tracked_ids: int | None
    key: np.ndarray  # int64, sorted
    count: np.ndarray  # int64
    t_first: np.ndarray  # float64
    t_last: np.ndarray  # float64
    payload: np.ndarray  # uint64
    change_sum: np.ndarray  # float64
    flip_sum: np.ndarray  # float64
    first: np.ndarray  # int64, absolute frame index
    start_index: int = 0
    t0: float = np.nan
    n_frames: int = 0

    @classmethod
    def start(cls, max_tracked_ids: int | None = None, start_index: int = 0) -> HistoryState:
        """The state before a capture's first frame (at absolute index `start_index`)."""
        return cls(
            max_tracked_ids,
            key=np.zeros(0, np.int64),
            count=np.zeros(0, np.int64),
            t_first=np.zeros(0),
            t_last=np.zeros(0),
            payload=np.zeros(0, np.uint64),
            change_sum=np.zeros(0),
            flip_sum=np.zeros(0),
            first=np.zeros(0, np.int64),
            start_index=start_index,
        )

    def __len__(self) -> int:
        """Rows held: tracked IDs, plus one for the overflow history."""
        return len(self.key)

    @property
    def n_tracked(self) -> int:
        """Tracked IDs (each with its own history)."""
        return int(np.searchsorted(self.key, OVERFLOW_KEY))

    @property
    def next_index(self) -> int:
        """Absolute index of the capture's next frame."""
        return self.start_index + self.n_frames

    def _rows(self) -> tuple[np.ndarray, ...]:
        return (
            self.key,
            self.count,
            self.t_first,
            self.t_last,
            self.payload,
            self.change_sum,
            self.flip_sum,
            self.first,
        )


def _tracked_in_block(state: HistoryState, can_id: np.ndarray) -> np.ndarray:
    """Which frames of the next block keep their own history: IDs the state tracks, then new
    IDs in order of first appearance while there is room."""
    limit = state.max_tracked_ids
    if limit is None:
        return np.ones(len(can_id), dtype=bool)
    ids = state.key[: state.n_tracked]
    known = _lookup(ids, can_id)[1]
    room = limit - len(ids)
    if room <= 0 or known.all():
        return known
    new_ids, first_at = np.unique(can_id[~known], return_index=True)
    if len(new_ids) <= room:
        return np.ones(len(can_id), dtype=bool)
    admitted = np.sort(new_ids[np.argsort(first_at, kind="stable")[:room]])
    return known | _lookup(admitted, can_id)[1]


def _lookup(sorted_ids: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each value sits in a sorted array (`searchsorted`), and whether it is there."""
    if len(sorted_ids) == 0:
        return np.zeros(len(values), np.int64), np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    return at, sorted_ids[at] == values


def continue_history(
    state: HistoryState, timestamp: np.ndarray, can_id: np.ndarray, payload: np.ndarray
) -> tuple[FrameHistory, HistoryState]:
    """The `FrameHistory` of the next block of one capture's frames (in time order), and the
    state after it. Block after block, from `HistoryState.start`, it equals bit for bit one
    `frame_history` call on the whole capture, except that `first` and `capture_start` count
    from the block's first frame (add `state.next_index` of the state passed in for absolute
    indices) and `capture_t0` is the capture's first timestamp on every frame."""
    timestamp = np.asarray(timestamp, dtype=np.float64)
    can_id = np.asarray(can_id, dtype=np.int64)
    payload = np.asarray(payload, dtype=np.uint64)
    n = len(timestamp)
    base = state.next_index
    if n == 0:
        empty = frame_history(np.zeros(0, np.int64), timestamp, can_id, payload)
        return empty, state
    t0 = state.t0 if state.n_frames else float(timestamp[0])
    tracked = _tracked_in_block(state, can_id)
    key = np.where(tracked, can_id, OVERFLOW_KEY)
    order = np.argsort(key, kind="stable")
    start = _run_starts(key[order])
    run_key = key[order][start]
    row, has = _lookup(state.key, run_key)  # each run's row of the state, if it has one
    held = dict(zip(STATE_ROWS, state._rows()[1:], strict=True))

    def carried(name: str, own: np.ndarray) -> np.ndarray:
        """Per run: the state's value where it has a row, else the run's own."""
        values = held[name]
        return np.where(has, values[row], own) if len(values) else own

    columns, runs = _grouped_history(order, start, timestamp, payload, carried, base)
    history = FrameHistory(
        **_in_frame_order(columns, order, tracked),
        tracked=tracked,
        capture_start=np.full(n, state.start_index - base, dtype=np.int64),
        capture_t0=np.full(n, t0),
    )
    untouched = np.ones(len(state.key), dtype=bool)
    untouched[row[has]] = False
    after = (run_key, *(runs[name] for name in STATE_ROWS))
    merged = [
        np.concatenate([old[untouched], ran]) for old, ran in zip(state._rows(), after, strict=True)
    ]
    by_key = np.argsort(merged[0], kind="stable")
    rows = [values[by_key] for values in merged]
    return history, HistoryState(
        state.max_tracked_ids, *rows, state.start_index, t0, state.n_frames + n
    )
