"""Windows of consecutive frames, cut inside each capture and never across two captures.

A capture of L frames gets the full windows starting at 0, stride, 2·stride, … Its short tail
follows `tail_policy`: `drop` leaves it out (the frames are counted), `keep` makes it one
shorter window starting at the next stride step. Everything is computed per capture with array
arithmetic, never per window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

TailPolicy = Literal["drop", "keep"]
TAIL_POLICIES: tuple[TailPolicy, ...] = ("drop", "keep")


@dataclass(frozen=True)
class Windows:
    """Windows over a frame table sorted by capture (all int64, one entry per window).

    `start`: global index of the window's first frame; `length`: its number of frames;
    `capture`: the capture's number (index into the capture runs); `ordinal`: the window's
    position inside its capture, in time order.
    """

    start: np.ndarray
    length: np.ndarray
    capture: np.ndarray
    ordinal: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def take(self, index: slice | np.ndarray) -> Windows:
        """The windows at `index` (a slice or an index array)."""
        return Windows(
            self.start[index], self.length[index], self.capture[index], self.ordinal[index]
        )


def capture_runs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First frame and length of each capture; raises if a capture is not one contiguous run."""
    codes = np.asarray(codes)
    if len(codes) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.concatenate(([0], np.flatnonzero(codes[1:] != codes[:-1]) + 1))
    if len(np.unique(codes[starts])) != len(starts):
        raise ValueError("frames of a capture must be contiguous: sort frames by (capture, row)")
    lengths = np.diff(np.append(starts, len(codes)))
    return starts.astype(np.int64), lengths.astype(np.int64)


def _check(window_size: int, stride: int, tail_policy: str) -> None:
    if window_size < 1 or stride < 1:
        raise ValueError(f"window_size and stride must be >= 1, got {window_size}, {stride}")
    if tail_policy not in TAIL_POLICIES:
        raise ValueError(f"tail_policy must be one of {TAIL_POLICIES}, got {tail_policy!r}")


def count_windows(
    capture_length: np.ndarray, window_size: int, stride: int, tail_policy: TailPolicy
) -> np.ndarray:
    """Number of windows per capture."""
    _check(window_size, stride, tail_policy)
    length = np.asarray(capture_length, dtype=np.int64)
    full = np.where(length >= window_size, (length - window_size) // stride + 1, 0)
    if tail_policy == "keep":
        full = full + (full * stride < length)
    return full


def make_windows(
    capture_start: np.ndarray,
    capture_length: np.ndarray,
    window_size: int,
    stride: int,
    tail_policy: TailPolicy,
) -> Windows:
    """All windows of all captures, ordered by capture then time."""
    capture_length = np.asarray(capture_length, dtype=np.int64)
    per_capture = count_windows(capture_length, window_size, stride, tail_policy)
    capture = np.repeat(np.arange(len(per_capture), dtype=np.int64), per_capture)
    first = np.cumsum(per_capture) - per_capture
    ordinal = np.arange(len(capture), dtype=np.int64) - first[capture]
    offset = ordinal * stride
    length = np.minimum(window_size, capture_length[capture] - offset)
    start = np.asarray(capture_start, dtype=np.int64)[capture] + offset
    return Windows(start=start, length=length, capture=capture, ordinal=ordinal)


def frames_left_out(windows: Windows, capture_length: np.ndarray, stride: int) -> np.ndarray:
    """Frames of each capture that fall in no window (short tails under `drop`, stride gaps)."""
    capture_length = np.asarray(capture_length, dtype=np.int64)
    is_last = np.ones(len(windows), dtype=bool)
    is_last[:-1] = windows.capture[1:] != windows.capture[:-1]
    # A window covers `stride` new frames before the next one starts; the last covers all of its.
    covered = np.where(is_last, windows.length, np.minimum(windows.length, stride))
    covered_per_capture = np.bincount(
        windows.capture, weights=covered, minlength=len(capture_length)
    ).astype(np.int64)
    return capture_length - covered_per_capture


def frames_left_out_by_policy(
    capture_length: np.ndarray, window_size: int, stride: int
) -> dict[str, np.ndarray]:
    """Frames per capture left out under each tail policy (for the report)."""
    start = np.cumsum(capture_length) - capture_length
    return {
        policy: frames_left_out(
            make_windows(start, capture_length, window_size, stride, policy),
            capture_length,
            stride,
        )
        for policy in TAIL_POLICIES
    }


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of `arange(s, s + n)` for each (s, n), without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(np.asarray(starts, dtype=np.int64) - offsets, lengths) + np.arange(
        lengths.sum(), dtype=np.int64
    )


def offsets(counts: np.ndarray) -> np.ndarray:
    """Pointer array (len(counts) + 1) from per-window counts."""
    return np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
