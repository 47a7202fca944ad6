"""Hand-made `frames` tables with the exact dtypes of docs/interfaces.md."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

BYTES = [f"byte_{i}" for i in range(8)]
CATEGORIES = ["capture", "split", "scenario", "attack_kind"]
COLUMNS = [*CATEGORIES, "row", "timestamp", "can_id", "dlc", *BYTES, "attack"]


def capture(
    name: str,
    split: str,
    can_id: Sequence[int],
    timestamp: Sequence[float] | None = None,
    payload: Sequence[Sequence[int]] | None = None,
    attack: Sequence[int] | None = None,
    attack_kind: str = "none",
) -> pd.DataFrame:
    """One capture; `payload[i]` lists frame i's bytes (its length is the DLC)."""
    n = len(can_id)
    timestamp = np.arange(n) * 0.01 if timestamp is None else timestamp
    payload = [[i % 256] for i in range(n)] if payload is None else payload
    data = np.zeros((n, 8), dtype=np.uint8)
    for i, p in enumerate(payload):
        data[i, : len(p)] = p
    frame = pd.DataFrame(
        {
            "capture": name,
            "split": split,
            "scenario": name.split("/")[0],
            "attack_kind": attack_kind,
            "row": np.arange(1, n + 1, dtype=np.int64),
            "timestamp": np.asarray(timestamp, dtype=np.float64),
            "can_id": np.asarray(can_id, dtype=np.int32),
            "dlc": np.array([len(p) for p in payload], dtype=np.uint8),
            **{b: data[:, i] for i, b in enumerate(BYTES)},
            "attack": np.zeros(n, np.int8) if attack is None else np.asarray(attack, np.int8),
        },
        index=range(n),
    )
    return frame


def frames(*captures: pd.DataFrame) -> pd.DataFrame:
    """Concatenate captures into one `frames` table (categorical labels, contract order)."""
    table = pd.concat(captures, ignore_index=True)[COLUMNS]
    return table.astype({c: "category" for c in CATEGORIES})


def random_frames(
    rng: np.random.Generator, lengths: Sequence[int], n_ids: int = 6, splits: Sequence[str] = ()
) -> pd.DataFrame:
    """Random captures of the given lengths; IDs from a small pool so windows repeat IDs."""
    pool = np.sort(rng.choice(1 << 29, size=n_ids, replace=False))
    parts = []
    for k, n in enumerate(lengths):
        split = splits[k] if k < len(splits) else ("train_attack_free" if k % 2 else "test")
        folder = "test_01_known" if split == "test" else "train_01_attack_free"
        dlc = rng.integers(0, 9, size=n)
        payload = [list(rng.integers(0, 256, size=d)) for d in dlc]
        parts.append(
            capture(
                f"{folder}/c{k}",
                split,
                pool[rng.integers(0, n_ids, size=n)],
                timestamp=1.6e9 + np.cumsum(rng.exponential(0.01, size=n)),
                payload=payload,
                attack=rng.integers(0, 2, size=n) * (rng.random(n) < 0.3),
                attack_kind="DoS",
            )
        )
    return frames(*parts)
