"""Baseline: a random forest on per-frame, CAN-ID-free features, judged like the detectors.

    python benchmarks/rf_baseline.py DATASET [ENV] [key=value,...]

After the public can-ids-tiny card: each frame gets a few features that never read the value of
its CAN ID — how it departs from its own ID's past (`kd_gat.graphs.history`: gap / running
period, payload change and bit flips against the ID's running rates, new ID, ID age, period),
its DLC and payload statistics (non-zero bytes, set bits, bits flipped since the ID's previous
frame) and the bus rate before it — all causal, per capture in time order. A 20-tree
`RandomForestClassifier` learns p(attack) per frame from the frames of the training windows
(`graphs_train`) only; a window's score is the max (`rf_max`) or the mean of the top 5
(`rf_top5`) of its frames' probabilities.

The windows, operating points and metrics are the project's own: the run's window tables
(`graphs_*`, `calibration_graphs`), the validation threshold (`choose_threshold`), the profile
thresholds for the false-alarm budget on each profiled car's attack-free windows
(`budget_threshold`), both operating points (`with_operating_points`), `metrics_table` and
`field_metrics`. So every results table can carry a baseline row on the same definition.

Reads the artifacts of a completed `kedro run` of DATASET (same ENV); the calibration recordings
are read again from `calibration_root` (pass the run's runtime parameters, e.g.
`calibration_root=../shared/data/vehicle_profiles`, as the third argument), and must give the
frames the run's `calibration_graphs` windows were cut from (checked). Writes `metrics.csv`,
`field_metrics.csv` and `thresholds.csv` to `data/08_reporting/<DATASET>/baseline/` and prints
one Markdown table.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from kd_gat.field_metrics import field_metrics
from kd_gat.graphs.builder import FrameArrays
from kd_gat.graphs.history import RATIO_CLIP
from kd_gat.graphs.store import ranges
from kd_gat.localisation import window_starts
from kd_gat.metrics import choose_threshold
from kd_gat.operating_points import PROFILE, VALIDATION, with_operating_points
from kd_gat.profiles import THRESHOLD_COLUMNS, calibrate, recording_minutes, warmup_windows
from kd_gat.reporting import metrics_table

FEATURES = (
    "iat_ratio",  # log2(gap since the ID's previous frame / the ID's running period)
    "change_excess",  # payload changed since the ID's previous frame − the ID's running rate
    "flip_excess",  # share of bits flipped − the ID's running share
    "log_period",  # log2 of the ID's running period (s); RATIO_CLIP·2 when unknown
    "new_id",  # 1 on the ID's first frame in the capture (or an untracked ID)
    "id_age",  # log1p(frames of the capture since the ID's first frame)
    "dlc",
    "nonzero_bytes",  # payload bytes that are not 0
    "set_bits",  # share of the 64 payload bits that are 1
    "flips",  # share of bits flipped since the same ID's previous frame (0 on its first)
    "bus_rate_ratio",  # log2(mean gap over the capture so far / mean gap of the last BUS_FRAMES)
)
MODELS = {"rf_max": None, "rf_top5": 5}  # window score: max, or mean of the top k probabilities
BUS_FRAMES = 32  # frames of the recent bus rate
MAX_BENIGN = 1_000_000  # benign training frames kept (all attack frames are): fit < ~30 s
MIN_SAMPLES_LEAF = 5
N_ESTIMATORS = 20


def frame_features(frames: pd.DataFrame, max_tracked_ids: int | None = None) -> np.ndarray:
    """(n_frames, len(FEATURES)) float32, aligned on `frames` (sorted by capture, then time).

    Causal: a frame's features read only the earlier frames of its capture."""
    arrays = FrameArrays.from_frames(frames)
    history = arrays.history(max_tracked_ids)
    n = len(frames)
    index = np.arange(n, dtype=np.int64)

    # payload bits flipped since the same ID's previous frame (the ID's own history, untracked
    # IDs included): one stable sort by (capture, ID) makes each ID's frames a time-ordered run
    key = (arrays.capture << 32) | arrays.can_id
    order = np.argsort(key, kind="stable")
    sorted_key, payload = key[order], arrays.payload[order]
    xor = np.zeros(n, dtype=np.uint64)
    if n > 1:
        same = sorted_key[1:] == sorted_key[:-1]
        xor[1:] = np.where(same, payload[1:] ^ payload[:-1], 0)
    flips = np.empty(n)
    flips[order] = np.bitwise_count(xor) / 64.0

    # bus rate: mean gap of the last BUS_FRAMES frames against the capture's mean gap so far
    start = history.capture_start
    t = arrays.timestamp
    seen = index - start  # earlier frames of the capture
    back = np.maximum(index - BUS_FRAMES, start)
    with np.errstate(divide="ignore", invalid="ignore"):
        recent = (t - t[back]) / (index - back)
        overall = (t - t[start]) / seen
        bus = np.log2(np.maximum(overall, 1e-9) / np.maximum(recent, 1e-9))
    bus = np.where(seen >= 2, np.clip(np.nan_to_num(bus), -RATIO_CLIP, RATIO_CLIP), 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        log_period = np.log2(np.maximum(history.period, 1e-9))
    log_period = np.where(np.isnan(history.period), 2 * RATIO_CLIP, log_period)
    byte_values = arrays.payload.view(np.uint8).reshape(n, 8)
    columns = {
        "iat_ratio": history.iat_ratio,
        "change_excess": history.change_excess,
        "flip_excess": history.flip_excess,
        "log_period": log_period,
        "new_id": ((history.first == index) | ~history.tracked).astype(np.float64),
        "id_age": np.log1p(index - history.first),
        "dlc": arrays.dlc.astype(np.float64),
        "nonzero_bytes": (byte_values != 0).sum(axis=1),
        "set_bits": np.bitwise_count(arrays.payload) / 64.0,
        "flips": flips,
        "bus_rate_ratio": bus,
    }
    return np.column_stack([columns[name] for name in FEATURES]).astype(np.float32)


def training_frames(frames: pd.DataFrame, train_windows: pd.DataFrame) -> np.ndarray:
    """Indices of the frames inside the training windows; raises if one is not a training
    capture's frame (the forest never sees a test capture)."""
    start = window_starts(frames, train_windows)
    index = np.unique(ranges(start, train_windows["n_frames"].to_numpy(np.int64)))
    split = frames["split"].astype(str).to_numpy(object)[index]
    if not pd.Series(split, dtype=object).str.startswith("train").all():
        raise ValueError("training windows hold frames of a non-training capture")
    return index


def fit_forest(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    max_benign: int = MAX_BENIGN,
    min_samples_leaf: int = MIN_SAMPLES_LEAF,
    seed: int = 0,
) -> RandomForestClassifier:
    """The 20-tree forest on every attack frame and at most `max_benign` benign frames (a
    uniform random subset, to bound the fitting time)."""
    labels = np.asarray(labels, dtype=np.int64)
    benign = np.flatnonzero(labels == 0)
    if len(benign) > max_benign:
        rng = np.random.default_rng(seed)
        benign = np.sort(rng.choice(benign, max_benign, replace=False))
    keep = np.sort(np.concatenate([benign, np.flatnonzero(labels != 0)]))
    forest = RandomForestClassifier(
        n_estimators=N_ESTIMATORS,
        random_state=seed,
        n_jobs=1,
        class_weight="balanced_subsample",
        min_samples_leaf=min_samples_leaf,
    )
    return forest.fit(features[keep], labels[keep])


def attack_probability(forest: RandomForestClassifier, features: np.ndarray) -> np.ndarray:
    """p(attack) per frame (0 everywhere when the forest saw no attack frame)."""
    classes = list(forest.classes_)
    if 1 not in classes:
        return np.zeros(len(features))
    return forest.predict_proba(features)[:, classes.index(1)]


def window_scores(
    frame_scores: np.ndarray, starts: np.ndarray, lengths: np.ndarray, top_k: int | None
) -> np.ndarray:
    """Per window (`lengths[i]` frames from `starts[i]`): the max of its frame scores
    (`top_k` None) or the mean of its `top_k` largest (all of them in a shorter window)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    values = np.asarray(frame_scores, dtype=np.float64)[ranges(starts, lengths)]
    window = np.repeat(np.arange(len(lengths)), lengths)
    order = np.lexsort((-values, window))  # each window's scores, largest first
    first = np.cumsum(lengths) - lengths
    if top_k is None:
        return values[order][first]
    rank = np.arange(len(values)) - first[window]
    top = rank < top_k
    total = np.bincount(window[top], weights=values[order][top], minlength=len(lengths))
    return total / np.minimum(lengths, top_k)


def score_store_windows(
    frames: pd.DataFrame, frame_scores: np.ndarray, windows: pd.DataFrame
) -> dict[str, np.ndarray]:
    """Each model's (`MODELS`) score of every window of a window table."""
    starts = window_starts(frames, windows)
    lengths = windows["n_frames"].to_numpy(np.int64)
    return {name: window_scores(frame_scores, starts, lengths, k) for name, k in MODELS.items()}


def window_outputs(
    frames: pd.DataFrame, frame_scores: np.ndarray, stores: Mapping[tuple[str, str], pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Per model, a `<name>.window_outputs`-like table (model, split, scenario, window, label,
    score) over window tables keyed by (split, scenario)."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in MODELS}
    for (split, scenario), windows in stores.items():
        scores = score_store_windows(frames, frame_scores, windows)
        for name, score in scores.items():
            parts[name].append(
                pd.DataFrame(
                    {
                        "model": name,
                        "split": split,
                        "scenario": scenario,
                        "window": np.arange(len(windows), dtype=np.int64),
                        "label": windows["label"].to_numpy(np.int64),
                        "score": score,
                    }
                )
            )
    return {name: pd.concat(p, ignore_index=True) for name, p in parts.items()}


def evaluate_baseline(
    outputs: Mapping[str, pd.DataFrame],
    profile_scores: Mapping[str, Mapping[str, np.ndarray]],
    minutes: Mapping[str, float],
    test_windows: Mapping[str, pd.DataFrame],
    matches: pd.DataFrame,
    events: pd.DataFrame,
    evaluation: dict[str, Any],
    false_alarms_per_hour: float,
    warmup_s: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """`metrics`, `field_metrics` and the thresholds of each model, as the evaluation computes
    them: validation threshold (`choose_threshold` on the val windows), profile thresholds
    (`calibrate`: the false-alarm budget over the `minutes` each profiled car's calibrating
    windows cover, on their scores after warm-up, `profile_scores[model][vehicle]`), both
    operating points (`with_operating_points`: no alarm in a capture's first `warmup_s`), then
    `metrics_table` and `field_metrics` per operating point with `calibrated_share`."""
    budget, points, parts = [], [], []
    for name, table in outputs.items():
        val = table[table["split"] == "val"]
        threshold = choose_threshold(
            val["label"].to_numpy(), val["score"].to_numpy(), evaluation["normal_quantile"]
        )
        parts.append(table[table["split"] == "test"].assign(threshold=threshold))
        points.append({"model": name, "operating_point": VALIDATION, "threshold": threshold})
        for vehicle, scores in profile_scores.get(name, {}).items():
            budget.append(calibrate(name, vehicle, scores, minutes[vehicle], false_alarms_per_hour))
    columns = ["model", "scenario", "window", "label", "score", "threshold"]
    validation = pd.concat(parts, ignore_index=True)[columns]
    thresholds = pd.DataFrame(budget, columns=THRESHOLD_COLUMNS)
    table = with_operating_points(validation, test_windows, matches, thresholds, warmup_s)
    metrics = metrics_table(table)
    field = []
    for point, scores in table.groupby("operating_point", sort=True):
        per_scenario, _ = field_metrics(
            scores, test_windows, events, evaluation["alarm_merge_s"], evaluation["confidence"]
        )
        share = scores.groupby(["model", "scenario"])["calibrated"].mean()
        per_scenario = per_scenario.join(share.rename("calibrated_share"), on=["model", "scenario"])
        per_scenario.insert(1, "operating_point", point)
        field.append(per_scenario)
    points_table = pd.concat(
        [pd.DataFrame(points), thresholds.assign(operating_point=PROFILE)], ignore_index=True
    )[["model", "operating_point", *THRESHOLD_COLUMNS[1:]]]
    return metrics, pd.concat(field, ignore_index=True), points_table


def summary_table(metrics: pd.DataFrame, field: pd.DataFrame) -> pd.DataFrame:
    """model × operating point × scenario: the figures a results table carries."""
    keys = ["model", "operating_point", "scenario"]
    table = metrics[[*keys, "f1", "mcc", "auroc", "calibrated_share"]].merge(
        field[
            [
                *keys,
                "window_f1_best",
                "frame_f1",
                "n_detected",
                "n_events",
                "false_alarms_per_h",
                "false_alarms_per_h_upper",
            ]
        ],
        on=keys,
        how="left",
    )
    events = table["n_detected"].map("{:.0f}".format) + "/" + table["n_events"].map("{:.0f}".format)
    return pd.DataFrame(
        {
            "model": table["model"],
            "operating point": table["operating_point"],
            "scenario": table["scenario"],
            "window F1": table["f1"],
            "MCC": table["mcc"],
            "AUROC": table["auroc"],
            "best F1": table["window_f1_best"],
            "frame F1": table["frame_f1"],
            "events": events.where(table["n_events"].notna(), "–"),
            "FA/h (upper)": (
                table["false_alarms_per_h"].map("{:.1f}".format)
                + " ("
                + table["false_alarms_per_h_upper"].map("{:.1f}".format)
                + ")"
            ).where(table["false_alarms_per_h"].notna(), "–"),
            "calibrated": table["calibrated_share"],
        }
    )


def _runtime_params(text: str | None) -> dict[str, Any]:
    """`key=value,key=value` → dict (values as strings)."""
    if not text:
        return {}
    return dict(item.split("=", 1) for item in text.split(","))


def main() -> None:
    """Load a completed run through the catalog, fit, score, evaluate, write, print."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    dataset = sys.argv[1]
    env = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    extra = _runtime_params(sys.argv[3] if len(sys.argv) > 3 else None)
    root = Path(__file__).resolve().parents[1]
    bootstrap_project(root)
    with KedroSession.create(
        root, env=env, runtime_params={"dataset": dataset, **extra}
    ) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        frames = catalog.load("frames")
        train = catalog.load("graphs_train").windows
        val = catalog.load("graphs_val").windows
        test = {s: store.windows for s, store in sorted(catalog.load("graphs_test").items())}
        calibration_windows = {v: s.windows for v, s in catalog.load("calibration_graphs").items()}
        matches = catalog.load("capture_matches")
        events = catalog.load("attack_events")
        calibration = catalog.load("calibration_frames") if calibration_windows else pd.DataFrame()
    max_ids = params["graphs"].get("max_tracked_ids")

    t0 = time.perf_counter()
    features = frame_features(frames, max_ids)
    t1 = time.perf_counter()
    fit_index = training_frames(frames, train)
    labels = frames["attack"].to_numpy(np.int64)[fit_index]
    forest = fit_forest(features[fit_index], labels)
    t2 = time.perf_counter()
    scores = attack_probability(forest, features)
    stores = {("train", "train"): train, ("val", "val"): val}
    outputs = window_outputs(frames, scores, stores | {("test", s): w for s, w in test.items()})
    profile_scores: dict[str, dict[str, np.ndarray]] = {name: {} for name in MODELS}
    if calibration_windows:
        cal_scores = attack_probability(forest, frame_features(calibration, max_ids))
        warmup_s = params["profiles"]["warmup_s"]
        for vehicle, windows in calibration_windows.items():
            per_model = score_store_windows(calibration, cal_scores, windows)
            settled = ~warmup_windows(windows, warmup_s)  # as the profiles stage calibrates
            for name, values in per_model.items():
                profile_scores[name][vehicle] = values[settled]
    metrics, field, thresholds = evaluate_baseline(
        outputs,
        profile_scores,
        {v: recording_minutes(w) for v, w in calibration_windows.items()},
        test,
        matches,
        events,
        params["evaluation"],
        params["profiles"]["false_alarms_per_hour"],
        params["profiles"]["warmup_s"],
    )
    t3 = time.perf_counter()

    out = root / "data" / "08_reporting" / dataset / "baseline"
    out.mkdir(parents=True, exist_ok=True)
    metrics.to_csv(out / "metrics.csv", index=False)
    field.to_csv(out / "field_metrics.csv", index=False)
    thresholds.to_csv(out / "thresholds.csv", index=False)
    sampled = min(MAX_BENIGN, int((labels == 0).sum())) + int(labels.sum())
    print(
        f"{dataset}: {len(frames):,} frames; features {t1 - t0:.1f} s; forest of {N_ESTIMATORS} "
        f"trees on {len(FEATURES)} features fitted on {sampled:,} of the {len(fit_index):,} "
        f"training-window frames ({int(labels.sum()):,} attack, benign subsampled to at most "
        f"{MAX_BENIGN:,}) in {t2 - t1:.1f} s; scoring and evaluation {t3 - t2:.1f} s; "
        "calibration windows: "
        + (", ".join(f"{v} {len(w)}" for v, w in calibration_windows.items()) or "none")
        + f"; wrote {out.relative_to(root)}/\n"
    )
    print(summary_table(metrics, field).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
