"""Attacks injected into an attack-free recording (`kd_gat.injection`), on a hand-made
recording: three periodic IDs (0x100 every 10 ms, 0x200 every 20 ms, 0x300 every 50 ms) for 40 s,
and on the detection table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat.injection import (
    BYTES,
    KINDS,
    detection,
    inject,
    inject_recordings,
    injected_matches,
    weakest,
)
from kd_gat.params.profiles import InjectionParams

PERIODS = {0x100: 0.010, 0x200: 0.020, 0x300: 0.050}
P = InjectionParams(start_s=5.0, every_s=10.0, duration_s=1.0, top_ids=2, rate_factor=4.0)


def recording(capture: str = "B/drive", seconds: float = 40.0) -> pd.DataFrame:
    parts = []
    for can_id, period in PERIODS.items():
        t = np.arange(0.0, seconds, period) + can_id * 1e-6  # no two frames at one instant
        payload = np.full((len(t), 8), can_id % 256, np.uint8)
        payload[:, 0] = np.arange(len(t)) % 7  # a counter: replayed payloads are the ID's own
        parts.append(
            pd.DataFrame({"timestamp": 1000.0 + t, "can_id": can_id, "dlc": np.uint8(8)}).assign(
                **{b: payload[:, i] for i, b in enumerate(BYTES)}
            )
        )
    frames = pd.concat(parts).sort_values("timestamp", ignore_index=True)
    columns = ["capture", "split", "scenario", "attack_kind", "row", "timestamp", "can_id"]
    return frames.assign(
        capture=capture,
        split="test",
        scenario="inference",
        attack_kind="none",
        row=np.arange(len(frames), dtype=np.int64),
        attack=np.int8(0),
    ).astype({"can_id": np.int32})[[*columns, "dlc", *BYTES, "attack"]]


def attack_windows(frames: pd.DataFrame) -> list[tuple[float, float]]:
    """(first, last) time of each run of injected frames."""
    t = frames.loc[frames["attack"] == 1, "timestamp"].to_numpy()
    breaks = np.flatnonzero(np.diff(t) > 1.0)
    return list(zip(t[np.r_[0, breaks + 1]], t[np.r_[breaks, len(t) - 1]], strict=True))


@pytest.mark.parametrize("kind", KINDS)
def test_every_original_frame_is_kept_unlabelled(kind: str) -> None:
    rec = recording()
    out = inject(rec, kind, P)
    original = out[out["attack"] == 0]
    assert len(original) == len(rec)
    np.testing.assert_array_equal(original["timestamp"], rec["timestamp"])
    np.testing.assert_array_equal(original[BYTES], rec[BYTES])
    assert out["timestamp"].is_monotonic_increasing
    assert (out["row"].to_numpy() == np.arange(len(out))).all()
    assert set(out["capture"]) == {f"B/drive+{kind}"}
    assert set(out["attack_kind"]) == {kind}
    assert out.dtypes.equals(rec.dtypes)


@pytest.mark.parametrize("kind", KINDS)
def test_attacks_start_late_and_last_their_duration(kind: str) -> None:
    out = inject(recording(), kind, P)
    # the recording spans 1000–1040 s: an attack every 10 s from 1005 s, each ending before 1040
    spans = attack_windows(out)
    starts = [round(first, 3) for first, _ in spans]
    assert starts == [1005.0, 1015.0, 1025.0, 1035.0]
    assert all(last - first < P.duration_s for first, last in spans)
    assert all(last - first > P.duration_s * 0.9 for first, last in spans)


def test_dos_is_id_zero_at_its_gap() -> None:
    injected = inject(recording(), "dos", P).query("attack == 1")
    assert (injected["can_id"] == 0).all()
    assert (injected[BYTES].to_numpy() == 0).all()
    per_attack = P.duration_s / P.dos_gap_s
    assert len(injected) == 4 * int(np.ceil(per_attack))


def test_fuzzing_draws_ids_and_payloads_and_is_seeded() -> None:
    a = inject(recording(), "fuzzing", P).query("attack == 1")
    assert a["can_id"].between(0, 0x7FF).all()
    assert a["can_id"].nunique() > 1000  # 2,000 frames over 2,048 IDs
    assert len(np.unique(a[BYTES].to_numpy(), axis=0)) == len(a)
    again = inject(recording(), "fuzzing", P).query("attack == 1")
    np.testing.assert_array_equal(a[["can_id", *BYTES]], again[["can_id", *BYTES]])
    other = inject(recording(), "fuzzing", P.model_copy(update={"seed": 1})).query("attack == 1")
    assert not np.array_equal(a["can_id"], other["can_id"])


@pytest.mark.parametrize("kind", ["spoof", "replay"])
def test_spoof_and_replay_target_the_most_frequent_ids_at_the_rate_factor(kind: str) -> None:
    out = inject(recording(), kind, P)
    injected = out[out["attack"] == 1]
    spans = attack_windows(out)
    # top_ids=2: 0x100 (most frequent), then 0x200, in turn
    for i, (first, last) in enumerate(spans):
        frames = injected[injected["timestamp"].between(first, last)]
        target = [0x100, 0x200][i % 2]
        assert set(frames["can_id"]) == {target}
        gap = np.median(np.diff(frames["timestamp"]))
        assert gap == pytest.approx(PERIODS[target] / P.rate_factor, rel=1e-6)
    payloads = injected[BYTES].to_numpy()
    if kind == "spoof":
        assert (payloads == 0xFF).all()
    else:  # each payload is one the target sent
        own = {
            (cid, tuple(p))
            for cid, p in zip(out["can_id"], out[BYTES].to_numpy(), strict=True)
            if cid in PERIODS
        }
        assert all(
            (cid, tuple(p)) in own for cid, p in zip(injected["can_id"], payloads, strict=True)
        )
        assert len({tuple(p) for p in payloads}) > 1


def test_every_recording_once_per_kind_and_matches_follow() -> None:
    frames = pd.concat([recording("B/a"), recording("C/b")], ignore_index=True)
    p = P.model_copy(update={"kinds": ("dos", "replay")})
    out = inject_recordings(frames, p)
    assert sorted(out["capture"].unique()) == ["B/a+dos", "B/a+replay", "C/b+dos", "C/b+replay"]
    assert (out["attack"] == 0).sum() == 2 * len(frames)
    matches = pd.DataFrame({"capture": ["B/a", "C/b"], "profile": ["B", "C"]})
    repeated = injected_matches(matches, p.kinds).set_index("capture")["profile"]
    assert repeated.to_dict() == {
        "B/a+dos": "B",
        "C/b+dos": "C",
        "B/a+replay": "B",
        "C/b+replay": "C",
    }


def test_one_recording_and_known_kinds_only() -> None:
    with pytest.raises(ValueError, match="unknown injected attack 'scan'"):
        inject(recording(), "scan", P)
    two = pd.concat([recording("B/a"), recording("B/b")], ignore_index=True)
    with pytest.raises(ValueError, match="one recording's frames, got 2"):
        inject(two, "dos", P)
    with pytest.raises(ValueError, match="shorter than every_s"):
        InjectionParams(duration_s=10.0, every_s=10.0)


def test_detection_counts_flags_at_each_cars_threshold() -> None:
    outputs = pd.DataFrame(
        {
            "model": ["m"] * 6 + ["n"] * 2,
            "vehicle": ["B", "B", "B", "C", "C", "C", "B", "B"],
            "kind": ["dos", "dos", "dos", "dos", "dos", "dos", "dos", "dos"],
            "label": [1, 1, 0, 1, 0, 0, 1, 0],
            "score": [0.9, 0.4, 0.6, 0.9, 0.95, 0.1, 0.2, 0.3],
        }
    )
    outputs["window"] = [0, 1, 2, 0, 1, 2, 0, 2]
    thresholds = pd.DataFrame(
        {
            "model": ["m", "m", "n"],
            "vehicle": ["B", "C", "B"],
            "threshold": [0.5, 0.92, 0.1],
            "threshold_half_budget": [0.5, 0.92, 0.25],
        }
    )
    candidates = {"m": ("m",), "n": ("n",), "m+n": ("m", "n"), "absent": ("x",)}
    table = detection(outputs, thresholds, candidates).set_index(["model", "vehicle"])
    assert table.loc[("m", "B"), ["attack_windows", "detected", "benign_flagged"]].tolist() == [
        2,
        1,
        1,
    ]
    assert table.loc[("m", "B"), "recall"] == pytest.approx(0.5)
    assert table.loc[("m", "C"), "recall"] == 0.0  # 0.9 under C's 0.92
    assert table.loc[("m", "C"), "benign_flagged"] == 1
    assert table.loc[("n", "B"), "recall"] == 1.0
    # the OR flags a window when a member does at its half-budget threshold: on B, m flags
    # windows 0 and 2, n (at 0.25) window 2 → the attack window 1 stays missed
    assert table.loc[("m+n", "B"), ["detected", "benign_flagged"]].tolist() == [1, 1]
    assert "absent" not in table.index.get_level_values("model")  # its member never scored
    assert ("m+n", "C") not in table.index  # n has no threshold on C
    assert detection(outputs.head(0), thresholds, candidates).empty


def test_weakest_is_each_candidates_lowest_recall_and_where() -> None:
    table = pd.DataFrame(
        {
            "model": ["m", "m", "m", "n"],
            "vehicle": ["B", "C", "C", "B"],
            "kind": ["dos", "dos", "spoof", "dos"],
            "recall": [1.0, 0.2, 0.7, np.nan],
        }
    )
    low = weakest(table).set_index("model")
    assert low.loc["m", "injected_recall"] == 0.2
    assert low.loc["m", "injected_weakest"] == "C dos"
    assert "n" not in low.index  # nothing was injected where it was scored
