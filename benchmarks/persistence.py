"""Alarm persistence at the profile operating point, measured on finished runs.

    python benchmarks/persistence.py --run <project>:<dataset>:<car> [--run ...] [--k 1,2,3]
        [--warmup-s 3]

A window's persisted score is the lowest of its own and its capture's `k - 1` previous windows'
scores (`kd_gat.persistence`): an alarm needs `k` windows in a row over the threshold. One
window of a car's clean traffic that scores high (the VGAEs on car C: profile maximum 5.5
against a 99th percentile of 0.54) then no longer sets the threshold on its own, while an
attack, which spans many windows, still passes it.

For each run (the `data/` of a finished `kedro run` of the whole roster: `window_scores`,
`<name>.profile_outputs` and `calibration_graphs`), each detector and each `k`: the threshold per
profiled car is set again on the persisted scores of its calibrating windows, under the run's own
budget (`allowed_alarms` of `profile_thresholds`, `kd_gat.profiles.budget_threshold`); test
windows calibrated to a profile take that threshold, the others keep the run's zero-shot one.
`--warmup-s`: no alarm from a test window that ends within its capture's first seconds (as
`kd_gat.operating_points` decides, for runs made before it did; 0: none). Printed per detector:
window F1, flagged benign windows, and the share of windows flagged, on the unseen car's test_04
and the known car's test_01. Nothing is trained or scored again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from kd_gat import roster
from kd_gat.datasets.graph_store import GraphStoreMapDataset
from kd_gat.persistence import follows, persist
from kd_gat.profiles import budget_threshold, warmup_windows

SCENARIOS = {
    "unseen": "test_04_unknown_vehicle_unknown_attack",
    "known": "test_01_known_vehicle_known_attack",
}


def profile_thresholds(
    outputs: pd.DataFrame,
    recordings: dict[str, pd.DataFrame],
    budget: pd.DataFrame,
    name: str,
    ks: list[int],
) -> dict[int, dict[str, float]]:
    """Per `k` and profiled car: the threshold on the persisted scores of the car's calibrating
    windows (`outputs`: the detector's profile outputs; `recordings`: each car's window table)."""
    thresholds: dict[int, dict[str, float]] = {k: {} for k in ks}
    for vehicle, rows in outputs.groupby("vehicle"):
        windows = recordings[vehicle].iloc[rows["window"].to_numpy()]
        order = np.lexsort((windows["start_time"].to_numpy(), windows["capture"].astype(str)))
        run = follows(windows.iloc[order])
        settled = ~rows["warmup"].to_numpy(bool)[order]
        allowed = budget.loc[
            (budget["model"] == name) & (budget["vehicle"] == vehicle), "allowed_alarms"
        ]
        for k in ks:
            score = persist(rows["score"].to_numpy()[order], run, k)
            thresholds[k][vehicle] = budget_threshold(score[settled], int(allowed.iloc[0]))
    return thresholds


def test_windows(stores: dict, scores: pd.DataFrame) -> pd.DataFrame:
    """The window table rows (`graphs_test/<scenario>`) of `scores`' windows, in its order."""
    parts = [
        stores[scenario].windows.iloc[group["window"].to_numpy()].assign(_at=group.index)
        for scenario, group in scores.groupby(scores["scenario"].astype(str))
    ]
    table = pd.concat(parts).set_index("_at")
    return table.loc[scores.index].reset_index(drop=True)


def measure(
    data: Path, dataset: str, car: str, ks: list[int], warmup_s: float = 0.0
) -> pd.DataFrame:
    inputs, results = data / f"05_model_input/{dataset}", data / f"07_model_output/{dataset}"
    scores = pd.read_parquet(results / "window_scores.parquet")
    scores = scores[scores["operating_point"] == "profile"]
    budget = pd.read_csv(results / "profile_thresholds.csv")
    calibration = GraphStoreMapDataset(str(inputs / "calibration_graphs")).load()
    recordings = {vehicle: store.windows for vehicle, store in calibration.items()}
    tests = GraphStoreMapDataset(str(inputs / "graphs_test")).load()
    rows = []
    for name in roster.detector_names():
        mine = scores[scores["model"] == name].sort_values(["capture", "start_time"])
        windows = test_windows(tests, mine)
        run = follows(windows)
        settled = ~warmup_windows(windows, warmup_s)
        outputs = pd.read_parquet(results / f"{name}_profile_outputs.parquet")
        thresholds = profile_thresholds(outputs, recordings, budget, name, ks)
        for k in ks:
            by_car = thresholds[k]
            score = persist(mine["score"].to_numpy(), run, k)
            own = mine["profile"].astype(object).map(by_car).astype(np.float64)
            threshold = np.where(mine["calibrated"].to_numpy(bool), own, mine["threshold"])
            flagged = (score >= threshold) & settled
            row = {"dataset": dataset, "car": car, "model": name, "k": k}
            for key, scenario in SCENARIOS.items():
                part = (mine["scenario"].astype(str) == scenario).to_numpy()
                label = mine["label"].to_numpy()[part]
                row[f"{key}_f1"] = f1_score(label, flagged[part], zero_division=0.0)
                row[f"{key}_benign_flagged"] = int((flagged[part] & (label == 0)).sum())
                row[f"{key}_flagged_share"] = float(flagged[part].mean())
            rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, help="PROJECT:DATASET:CAR")
    parser.add_argument("--k", default="1,2,3")
    parser.add_argument("--warmup-s", type=float, default=0.0)
    parser.add_argument("--out", default=None, help="CSV of every row")
    args = parser.parse_args()
    ks = [int(k) for k in args.k.split(",")]
    tables = []
    for spec in args.run:
        project, dataset, car = spec.split(":")
        tables.append(measure(Path(project) / "data", dataset, car, ks, args.warmup_s))
    table = pd.concat(tables, ignore_index=True)
    if args.out:
        table.to_csv(args.out, index=False)
    pd.set_option("display.width", 200)
    summary = table.groupby(["car", "model", "k"])[
        ["unseen_f1", "unseen_benign_flagged", "known_f1", "known_benign_flagged"]
    ].agg(["mean", "std"])
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
