"""Attacks injected into a car's attack-free recording: a label-free check of each detector on
a car nobody labelled, at the threshold its profile set.

A profile recording has no attack, so it can say how often a detector raises a false alarm on
the car, never whether it would catch an attack there. Injecting the textbook attacks into the
recording gives labelled windows of that car's own traffic:

- `dos`: the highest-priority ID (0x000) with an all-zero payload, every `dos_gap_s`;
- `fuzzing`: random 11-bit IDs with random payloads, every `fuzzing_gap_s`;
- `spoof`: one of the recording's `top_ids` most frequent IDs (a different one each attack),
  `rate_factor` times as often as it is sent, with a constant all-ones payload;
- `replay`: the same target and rate, with payloads the target itself sent in the recording.

Attacks start `start_s` after the recording's first frame and every `every_s` after that, and
last `duration_s`; each kind is injected into its own copy of the recording (`<capture>+<kind>`),
so a window holds one kind. Every original frame is kept (label 0) and every injected one is
labelled 1: the windows are built like any capture's.

What this measures is detection of these four attacks, not of every attack: a detector that
misses them on a car (as the VGAEs do on car C, measured) will miss real ones there; one that
catches them may still miss a subtler attack (the GATs on car B catch all four but not the
systematic attack of set_01's test capture).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kd_gat.params.profiles import InjectionParams

KINDS = ("dos", "fuzzing", "spoof", "replay")
SEPARATOR = "+"  # `<capture>+<kind>`: the copy of a recording one kind is injected into
BYTES = [f"byte_{i}" for i in range(8)]
_CAN_IDS = 0x800  # the 11-bit identifier space fuzzing draws from


def injected_capture(capture: str, kind: str) -> str:
    """The name of the copy of `capture` that `kind` is injected into."""
    return f"{capture}{SEPARATOR}{kind}"


def _starts(timestamps: np.ndarray, p: InjectionParams) -> np.ndarray:
    """Start times of the attacks that fit in the recording."""
    first, last = float(timestamps.min()), float(timestamps.max())
    return np.arange(first + p.start_s, last - p.duration_s, p.every_s)


def _spread(starts: np.ndarray, gaps: np.ndarray, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Frame times of attacks starting at `starts`, one frame every `gaps[i]` for `duration`
    seconds, and the attack each belongs to (vectorised over every attack)."""
    counts = np.ceil(duration / gaps).astype(np.int64)
    attack = np.repeat(np.arange(len(starts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    step = np.arange(counts.sum()) - first
    return starts[attack] + step * gaps[attack], attack


def targets(frames: pd.DataFrame, top_ids: int) -> tuple[np.ndarray, np.ndarray]:
    """A recording's most frequent IDs (the spoofed and replayed ones), most frequent first,
    and the median gap of each."""
    counts = frames["can_id"].value_counts(sort=True)
    top = counts.index.to_numpy(np.int64)[: max(1, min(top_ids, len(counts)))]
    ordered = frames[["can_id", "timestamp"]].sort_values(["can_id", "timestamp"], kind="stable")
    gap = ordered["timestamp"].diff().where(ordered["can_id"].diff() == 0)
    median_gap = gap.groupby(ordered["can_id"].to_numpy()).median()
    return top, median_gap.reindex(top).to_numpy(np.float64)


def inject(
    frames: pd.DataFrame,
    kind: str,
    p: InjectionParams,
    top: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """One recording's frames (one capture, attack-free) with `kind` injected: a copy named
    `<capture>+<kind>`, in time order, `attack` 1 on injected frames and 0 on the originals,
    `attack_kind` the kind, `row` the frame's position in the copy. `top`: the recording's
    `targets` when already known (spoof and replay attacks cycle over them)."""
    if kind not in KINDS:
        raise ValueError(f"unknown injected attack {kind!r}: one of {', '.join(KINDS)}")
    captures = frames["capture"].astype(str).unique()
    if len(captures) != 1:
        raise ValueError(f"inject takes one recording's frames, got {len(captures)} captures")
    rng = np.random.default_rng([p.seed, KINDS.index(kind)])
    starts = _starts(frames["timestamp"].to_numpy(np.float64), p)
    if kind in ("dos", "fuzzing"):
        gap = p.dos_gap_s if kind == "dos" else p.fuzzing_gap_s
        times, _ = _spread(starts, np.full(len(starts), gap), p.duration_s)
        n = len(times)
        ids = np.zeros(n, np.int64) if kind == "dos" else rng.integers(0, _CAN_IDS, n)
        payload = (
            np.zeros((n, 8), np.uint8)
            if kind == "dos"
            else rng.integers(0, 256, (n, 8), dtype=np.uint8)
        )
        dlc = np.full(n, 8, np.uint8)
    else:
        ids, periods = top if top is not None else targets(frames, p.top_ids)
        cycle = np.arange(len(starts)) % len(ids)
        gaps = np.maximum(np.nan_to_num(periods[cycle], nan=p.every_s) / p.rate_factor, p.dos_gap_s)
        times, attack = _spread(starts, gaps, p.duration_s)
        ids = ids[cycle][attack]
        if kind == "spoof":
            payload = np.full((len(times), 8), 0xFF, np.uint8)
            dlc = np.full(len(times), 8, np.uint8)
        else:  # a random frame of the target's own, per injected frame
            by_id = frames.sort_values("can_id", kind="stable")
            sorted_ids = by_id["can_id"].to_numpy(np.int64)
            lo = np.searchsorted(sorted_ids, ids, side="left")
            hi = np.searchsorted(sorted_ids, ids, side="right")
            pick = lo + np.floor(rng.random(len(ids)) * (hi - lo)).astype(np.int64)
            payload = by_id[BYTES].to_numpy(np.uint8)[pick]
            dlc = by_id["dlc"].to_numpy(np.uint8)[pick]
    injected = pd.DataFrame(
        {"timestamp": times, "can_id": ids.astype(np.int32), "dlc": dlc}
        | {b: payload[:, i] for i, b in enumerate(BYTES)}
    ).assign(attack=np.int8(1))
    original = frames.assign(attack=np.int8(0))
    out = pd.concat([original, injected], ignore_index=True).sort_values("timestamp", kind="stable")
    for column in ("split", "scenario"):
        out[column] = frames[column].iloc[0]
    out["capture"] = injected_capture(str(captures[0]), kind)
    out["attack_kind"] = kind
    out["row"] = np.arange(len(out), dtype=np.int64)
    numeric = {c: frames[c].dtype for c in ["timestamp", "can_id", "dlc", *BYTES, "attack", "row"]}
    return out[list(frames.columns)].astype(numeric).reset_index(drop=True)


def inject_recordings(frames: pd.DataFrame, p: InjectionParams) -> pd.DataFrame:
    """Every recording of `frames` (profile recordings) once per kind of `p.kinds`."""
    parts = [
        inject(recording, kind, p, top)
        for _, recording in frames.groupby("capture", observed=True, sort=True)
        for top in [targets(recording, p.top_ids)]
        for kind in p.kinds
    ]
    return pd.concat(parts, ignore_index=True) if parts else frames.iloc[:0]


def injected_matches(matches: pd.DataFrame, kinds: tuple[str, ...]) -> pd.DataFrame:
    """The recordings' profile matches, repeated for each injected copy (a copy is the same car,
    matched from the same moment)."""
    return pd.concat(
        [matches.assign(capture=matches["capture"].astype(str) + SEPARATOR + k) for k in kinds],
        ignore_index=True,
    )


DETECTION_COLUMNS = [
    "model",
    "vehicle",
    "kind",
    "attack_windows",
    "detected",
    "recall",
    "benign_windows",
    "benign_flagged",
]


def detection(
    outputs: pd.DataFrame,
    thresholds: pd.DataFrame,
    candidates: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """Per (candidate, car, kind): the injected attack windows it flags at the car's threshold
    (`recall`), and the recording's own windows of that copy it flags (`benign_flagged`).

    `outputs`: each detector's scored injected windows (`model`, `vehicle`, `kind`, `window`,
    `label`, `score`); `thresholds`: `profile_thresholds`; `candidates`: each deployable name and
    the detectors it runs. A candidate of one detector flags at the car's threshold; one of
    several (an alarm-level OR) flags when any member does at its half-budget threshold, as at
    the `profile` operating point."""
    if outputs.empty:
        return pd.DataFrame(columns=DETECTION_COLUMNS)
    table = outputs.merge(
        thresholds[["model", "vehicle", "threshold", "threshold_half_budget"]],
        on=["model", "vehicle"],
    )
    keys = ["vehicle", "kind", "window", "label"]
    parts = []
    for name, members in candidates.items():
        own = table[table["model"].isin(list(members))]
        complete = own.groupby("vehicle")["model"].transform("nunique") == len(set(members))
        own = own[complete.to_numpy(bool)]  # a car where a member has no threshold: no row
        if own.empty:
            continue
        column = "threshold" if len(members) == 1 else "threshold_half_budget"
        flagged = own["score"].to_numpy(np.float64) >= own[column].to_numpy(np.float64)
        per_window = own[keys].assign(flagged=flagged).groupby(keys, observed=True)["flagged"]
        parts.append(per_window.any().reset_index().assign(model=name))
    if not parts:
        return pd.DataFrame(columns=DETECTION_COLUMNS)
    flags = pd.concat(parts, ignore_index=True)
    label = flags["label"].to_numpy(np.int64) == 1
    flagged = flags["flagged"].to_numpy(bool)
    counts = (
        flags.assign(
            attack_windows=label,
            detected=label & flagged,
            benign_windows=~label,
            benign_flagged=~label & flagged,
        )
        .groupby(["model", "vehicle", "kind"], observed=True, as_index=False)[
            ["attack_windows", "detected", "benign_windows", "benign_flagged"]
        ]
        .sum()
    )
    attacks = counts["attack_windows"].to_numpy(np.float64)
    counts["recall"] = np.divide(
        counts["detected"], attacks, out=np.full(len(counts), np.nan), where=attacks > 0
    )
    return counts[DETECTION_COLUMNS].sort_values(["model", "vehicle", "kind"], ignore_index=True)


def weakest(table: pd.DataFrame) -> pd.DataFrame:
    """Per candidate: its lowest recall over every (car, kind) of `detection`'s table, and
    where (`injected_recall`, `injected_weakest`); NaN where nothing was injected."""
    rated = table.dropna(subset=["recall"])
    if rated.empty:
        return pd.DataFrame(columns=["model", "injected_recall", "injected_weakest"])
    low = rated.sort_values(["recall", "vehicle", "kind"]).groupby("model", sort=True).head(1)
    return pd.DataFrame(
        {
            "model": low["model"].to_numpy(),
            "injected_recall": low["recall"].to_numpy(np.float64),
            "injected_weakest": (
                low["vehicle"].astype(str) + " " + low["kind"].astype(str)
            ).to_numpy(),
        }
    )
