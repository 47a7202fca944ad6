"""The random-forest baseline (benchmarks/rf_baseline.py): ID-free causal frame features, window
mapping, fitting on training windows only, window aggregation, the evaluation's operating points."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from kd_gat.field_metrics import attack_events
from kd_gat.graphs.builder import plan_windows
from tests.conftest import PROJECT
from tests.graphs.factory import capture, frames

_SPEC = importlib.util.spec_from_file_location(
    "rf_baseline", PROJECT / "benchmarks" / "rf_baseline.py"
)
rf = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(rf)

IDS = (0x100, 0x200, 0x300, 0x400)
PERIOD = 0.01


def periodic(name: str, split: str, cycles: int, injections: list[int]) -> pd.DataFrame:
    """IDs sent round-robin every `PERIOD` s with near-constant payloads; at each cycle of
    `injections` an extra frame of the first ID (all bytes 0xFF, attack) halfway between two
    of its genuine frames."""
    times = (np.arange(cycles)[:, None] * PERIOD + np.arange(len(IDS)) * PERIOD / 8).ravel()
    ids = np.tile(IDS, cycles)
    payloads = [[k % 4, 0, 0, 0, 0, 0, 0, (k // 4) % 256] for k in range(len(ids))]
    attack = [0] * len(ids)
    times, ids = list(times), list(ids)
    for c in injections:
        times.append(c * PERIOD + PERIOD / 2)
        ids.append(IDS[0])
        payloads.append([0xFF] * 8)
        attack.append(1)
    order = np.argsort(times, kind="stable")
    return capture(
        name,
        split,
        np.asarray(ids)[order],
        timestamp=np.asarray(times)[order],
        payload=[payloads[i] for i in order],
        attack=np.asarray(attack)[order],
        attack_kind="injection",
    )


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return frames(
        periodic("train_02_with_attacks/a", "train_with_attacks", 300, list(range(10, 290, 10))),
        periodic("test_01_known/b", "test", 200, [137]),
    )


def windows(frames_: pd.DataFrame, size: int = 40) -> pd.DataFrame:
    return plan_windows(frames_, size, size, "drop", 1).table


def test_features_are_causal_and_id_free(table: pd.DataFrame) -> None:
    full = rf.frame_features(table)
    assert full.shape == (len(table), len(rf.FEATURES))
    cut = rf.frame_features(table.iloc[:500].copy())  # later frames removed
    np.testing.assert_array_equal(full[:500], cut)
    renamed = table.assign(can_id=table["can_id"].map(dict(zip(IDS, (7, 3, 900, 5), strict=True))))
    np.testing.assert_array_equal(full, rf.frame_features(renamed.astype({"can_id": np.int32})))


def test_window_starts_are_the_builder_windows(table: pd.DataFrame) -> None:
    plan = plan_windows(table, 40, 40, "drop", 1)
    np.testing.assert_array_equal(rf.window_starts(table, plan.table), plan.windows.start)
    moved = plan.table.assign(end_row=plan.table["end_row"] + 1)
    with pytest.raises(ValueError, match="do not match"):
        rf.window_starts(table, moved)


def test_fit_uses_training_window_frames_only(table: pd.DataFrame) -> None:
    all_windows = windows(table)
    train = all_windows[all_windows["capture"].astype(str).str.startswith("train")]
    index = rf.training_frames(table, train)
    assert (table["split"].to_numpy()[index] == "train_with_attacks").all()
    assert len(index) == train["n_frames"].sum()  # the dropped tail is not used
    with pytest.raises(ValueError, match="non-training"):
        rf.training_frames(table, all_windows)


def test_injected_frame_scores_highest(table: pd.DataFrame) -> None:
    all_windows = windows(table)
    train = all_windows[all_windows["capture"].astype(str).str.startswith("train")]
    index = rf.training_frames(table, train)
    features = rf.frame_features(table)
    labels = table["attack"].to_numpy(np.int64)
    forest = rf.fit_forest(features[index], labels[index])
    scores = rf.attack_probability(forest, features)
    test = np.flatnonzero(table["split"].to_numpy() == "test")
    injected = test[labels[test] == 1]
    assert len(injected) == 1
    benign = np.delete(test, np.searchsorted(test, injected))
    assert scores[injected[0]] > scores[benign].max()
    # the window holding it is the only one flagged at its score
    test_windows = all_windows[all_windows["capture"].astype(str).str.startswith("test")]
    per_window = rf.score_store_windows(table, scores, test_windows.reset_index(drop=True))
    top = per_window["rf_max"] >= scores[injected[0]]
    np.testing.assert_array_equal(top, test_windows["label"].to_numpy() == 1)


def test_window_aggregation_hand_computed() -> None:
    scores = np.array([0.1, 0.9, 0.3, 0.2, 0.8, 0.5, 0.7, 0.6, 0.0, 0.4])
    starts, lengths = np.array([0, 7, 8]), np.array([7, 3, 2])
    np.testing.assert_allclose(rf.window_scores(scores, starts, lengths, None), [0.9, 0.6, 0.4])
    np.testing.assert_allclose(
        rf.window_scores(scores, starts, lengths, 5),
        [(0.9 + 0.8 + 0.7 + 0.5 + 0.3) / 5, (0.6 + 0.0 + 0.4) / 3, (0.0 + 0.4) / 2],
    )


def test_operating_points_as_the_evaluation(table: pd.DataFrame) -> None:
    all_windows = windows(table)
    test = all_windows[all_windows["capture"].astype(str).str.startswith("test")]
    test = test.reset_index(drop=True)
    val = all_windows[all_windows["capture"].astype(str).str.startswith("train")]
    score = np.linspace(0, 1, len(test))
    outputs = {
        "rf_max": pd.concat(
            [
                pd.DataFrame(
                    {"split": "val", "scenario": "val", "window": np.arange(len(val))}
                ).assign(label=val["label"].to_numpy(), score=val["label"].to_numpy() * 0.9),
                pd.DataFrame(
                    {"split": "test", "scenario": "test_01_known", "window": np.arange(len(test))}
                ).assign(label=test["label"].to_numpy(), score=score),
            ],
            ignore_index=True,
        ).assign(model="rf_max")
    }
    calibration = np.arange(100) / 100.0  # the car's clean windows
    minutes = {"B": 60.0}  # 5 alarms/h × 1 h: 5 allowed
    matches = pd.DataFrame({"capture": ["test_01_known/b"], "profile": ["B"], "matched_from": [0]})
    events = attack_events(table[table["split"] == "test"], 1.0)
    evaluation = {"normal_quantile": 0.99, "alarm_merge_s": 1.0, "confidence": 0.95}
    metrics, field, thresholds = rf.evaluate_baseline(
        outputs,
        {"rf_max": {"B": calibration}},
        minutes,
        {"test_01_known": test},
        matches,
        events,
        evaluation,
        5.0,
    )
    point = thresholds.set_index("operating_point")["threshold"]
    assert point["validation"] == pytest.approx(0.9)
    assert point["profile"] == np.nextafter(0.94, np.inf)  # 0.95 … 0.99 flagged: 5 windows
    share = metrics.set_index("operating_point")["calibrated_share"]
    assert share["profile"] == 1.0
    assert share["validation"] == 0.0
    flagged = field.set_index("operating_point")["n_flagged"]
    assert flagged["profile"] == (score >= point["profile"]).sum()
    assert flagged["validation"] == (score >= 0.9).sum()
