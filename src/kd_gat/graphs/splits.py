"""Train / validation / test selection of windows.

Validation comes from the training captures. Captures named by `val_captures` (fnmatch patterns
on the capture name, e.g. `train_01_attack_free/accessory-2`) are held out whole: all their
windows are validation, none is trained on. Every other training capture is split by time: its
windows are cut into `val_blocks` consecutive blocks of (nearly) equal size and the last
`val_fraction` of each block (rounded to the nearest window) goes to validation; `val_blocks=1`
is simply the last `val_fraction` of the capture. More blocks spread validation over the
capture, which matters when attacks happen only in part of it. A validation window that overlaps
a training window (possible when stride < window size) is dropped, so validation never sees a
training frame.
Test captures give one selection per scenario.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SplitIndices:
    """Window indices of each split; `val_dropped` counts validation windows dropped for overlap."""

    train: np.ndarray
    val: np.ndarray
    test: dict[str, np.ndarray]
    val_dropped: int


def _ceil_div(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    return -(-a // b)


def held_out_captures(capture: pd.Series, patterns: Sequence[str]) -> np.ndarray:
    """True where the capture name matches one of the fnmatch `patterns` (case-sensitive)."""
    names = pd.Series(capture, dtype=str)
    matched = {name: any(fnmatchcase(name, p) for p in patterns) for name in names.unique()}
    return names.map(matched).to_numpy(bool, copy=True)


def split_windows(
    windows: pd.DataFrame,
    capture_split: Mapping[str, str],
    val_fraction: float,
    val_blocks: int = 1,
    val_captures: Sequence[str] = (),
) -> SplitIndices:
    """Split windows (ordered by capture, then time) using each capture's `split` label; training
    captures matching a `val_captures` pattern are validation whole."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if val_blocks < 1:
        raise ValueError(f"val_blocks must be >= 1, got {val_blocks}")
    capture = windows["capture"].astype(str)
    split = capture.map(dict(capture_split))
    if split.isna().any():
        raise ValueError(f"captures without a split: {sorted(set(capture[split.isna()]))}")
    is_train_capture = split.str.startswith("train").to_numpy(copy=True)
    held_out = is_train_capture & held_out_captures(capture, val_captures)
    is_train_capture &= ~held_out
    by_capture = windows.groupby(capture, sort=False)
    ordinal = by_capture.cumcount().to_numpy()
    n = by_capture["start_time"].transform("size").to_numpy()

    # Block b of a capture holds ordinals [ceil(b·n/k), ceil((b+1)·n/k)).
    block = ordinal * val_blocks // n
    block_end = _ceil_div((block + 1) * n, val_blocks)
    block_size = block_end - _ceil_div(block * n, val_blocks)
    n_val = np.floor(block_size * val_fraction + 0.5).astype(np.int64)
    candidate_val = is_train_capture & (ordinal >= block_end - n_val)
    train = is_train_capture & ~candidate_val

    # A validation window must lie strictly between the training windows around it, in time
    # (frames are in time order within a capture; row numbers need not be, see ingestion).
    train_end = windows["end_time"].where(train).groupby(capture, sort=False).ffill()
    train_start = windows["start_time"].where(train).groupby(capture, sort=False).bfill()
    overlaps = (
        (windows["start_time"] <= train_end) | (windows["end_time"] >= train_start)
    ).to_numpy()
    val = (candidate_val & ~overlaps) | held_out

    is_test = (split == "test").to_numpy()
    scenario = windows["scenario"].astype(str).to_numpy()
    test = {s: np.flatnonzero(is_test & (scenario == s)) for s in sorted(set(scenario[is_test]))}
    return SplitIndices(
        train=np.flatnonzero(train),
        val=np.flatnonzero(val),
        test=test,
        val_dropped=int((candidate_val & overlaps).sum()),
    )


def assert_disjoint(*tables: pd.DataFrame) -> None:
    """Raise if a window (capture, start_row) appears in more than one place."""
    if not tables:
        return
    capture = np.concatenate([t["capture"].to_numpy(dtype=object) for t in tables]).astype(str)
    row = np.concatenate([t["start_row"].to_numpy(dtype=np.int64) for t in tables])
    order = np.lexsort((row, capture))
    capture, row = capture[order], row[order]
    twice = (capture[1:] == capture[:-1]) & (row[1:] == row[:-1])
    if twice.any():
        examples = list(zip(capture[1:][twice][:5], row[1:][twice][:5], strict=True))
        raise ValueError(f"windows appear twice across stores (capture, start_row): {examples}")
