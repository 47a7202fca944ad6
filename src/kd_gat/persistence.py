"""Alarm persistence: an alarm needs `k` windows in a row over the threshold.

A window's persisted score is the lowest of its own score and those of the up to `k - 1` windows
right before it in the same unbroken run of windows (`follows`: a window directly follows the
one before it, same capture, no gap). Thresholding the persisted score flags a window exactly
when it and its `k - 1` predecessors would all be flagged, so a single high-scoring window of a
car's clean traffic neither raises an alarm nor, in a profile recording, sets the threshold; an
attack, which spans many windows, still passes it one window later.

`scoring.persistence` sets k per model kind; `kd_gat.scoring.detector_outputs` applies it to every
store a detector scores, and the exported detector (`kd_gat.bundle`) to every stream. Measured
(`benchmarks/persistence.py`, set_01 → car B, 3 seeds): `vgae_student` at the profile point 0.843
± 0.061 window F1 with k = 1, 0.956 ± 0.000 with k = 2; the GATs lose with it (their profile
thresholds fall towards 0), so they keep k = 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def follows(windows: pd.DataFrame, previous: tuple[str, int, int] | None = None) -> np.ndarray:
    """Per window of a window table (`capture`, `start_row`, `end_row`, in store order): whether
    it directly follows the window before it, same capture, starting after it and no later
    than the frame after its end. `previous` (`capture`, `start_row`, `end_row`): the window
    before the table's first (a stream's previous block), None when there is none."""
    capture = windows["capture"].astype(str).to_numpy()
    start = windows["start_row"].to_numpy(np.int64)
    end = windows["end_row"].to_numpy(np.int64)
    if previous is not None:
        capture = np.concatenate([np.asarray([previous[0]], dtype=capture.dtype), capture])
        start = np.concatenate([[previous[1]], start])
        end = np.concatenate([[previous[2]], end])
    out = np.zeros(len(capture), dtype=bool)
    out[1:] = (capture[1:] == capture[:-1]) & (start[1:] > start[:-1]) & (start[1:] <= end[:-1] + 1)
    return out if previous is None else out[1:]


def persist(scores: np.ndarray, follows: np.ndarray, k: int) -> np.ndarray:
    """Each window's lowest score over itself and up to `k - 1` predecessors in its run
    (`follows[i]`: window i directly follows window i - 1). Vectorised over windows."""
    if k < 1:
        raise ValueError(f"persistence k must be at least 1, got {k}")
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    index = np.arange(n)
    run_start = np.maximum.accumulate(np.where(np.asarray(follows, dtype=bool), 0, index))
    depth = index - run_start  # predecessors in the run
    out = scores.copy()
    for back in range(1, min(k, n)):
        previous = np.full(n, np.inf)
        previous[back:] = scores[:-back]
        out = np.minimum(out, np.where(depth >= back, previous, np.inf))
    return out
