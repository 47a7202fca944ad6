"""Probe: how each trained detector of a run does on its test scenarios at three operating points.

    python benchmarks/transfer_probe.py DATASET PROFILE_FOLDER [ENV] [QUANTILE]

- `val`: the threshold the detector chose on validation windows (what evaluation reports);
- `profile`: the QUANTILE (default 0.999) of its scores on the windows of an attack-free recording
  of the target car (PROFILE_FOLDER, e.g. ../shared/data/vehicle_profiles/B), no labels used;
- `best`: the best threshold in hindsight (a diagnostic, not an operating point).

A scratch tool for choosing the transfer design (issue 15); the profiles pipeline replaces it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from sklearn import metrics as skm

from kd_gat import roster
from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.metrics import choose_threshold
from kd_gat.pipelines.inference.nodes import build_inference_graphs, ingest_new_captures
from kd_gat.scoring import detector_outputs


def best_f1(labels: np.ndarray, scores: np.ndarray) -> float:
    precision, recall, _ = skm.precision_recall_curve(labels, scores)
    return float(np.max(2 * precision * recall / np.maximum(precision + recall, 1e-12)))


def main() -> None:
    dataset, profile = sys.argv[1], Path(sys.argv[2])
    env = sys.argv[3] if len(sys.argv) > 3 else None
    quantile = float(sys.argv[4]) if len(sys.argv) > 4 else 0.999
    root = Path(__file__).resolve().parents[1]
    bootstrap_project(root)
    with KedroSession.create(root, env=env, runtime_params={"dataset": dataset}) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        frames, _, _ = ingest_new_captures(
            CaptureFolderDataset(str(profile), labelled=False).load(), params["ingestion"]
        )
        store = build_inference_graphs(
            frames, catalog.load("vocabulary"), catalog.load("feature_stats"), params["graphs"]
        )
        rows = []
        for name in roster.detector_names():
            model = catalog.load(f"{name}.model")
            prof = detector_outputs(model, {"p": store}, 256)["p"]["score"].to_numpy()
            outputs = catalog.load(f"{name}.window_outputs")
            val = outputs[outputs["split"] == "val"]
            thresholds = {
                "val": choose_threshold(val["label"], val["score"], 0.99),
                "profile": float(np.quantile(prof, quantile)),
            }
            test = outputs[outputs["split"] == "test"]
            for scenario, group in test.groupby("scenario"):
                y, s = group["label"].to_numpy(), group["score"].to_numpy()
                row = {"model": name, "scenario": scenario}
                for point, t in thresholds.items():
                    pred = s >= t
                    row[f"f1_{point}"] = skm.f1_score(y, pred, zero_division=0)
                    row[f"flag_{point}"] = pred.mean()
                row["best_f1"] = best_f1(y, s)
                row["auroc"] = skm.roc_auc_score(y, s) if len(set(y)) == 2 else np.nan
                rows.append(row)
    pd.set_option("display.width", 200)
    print(f"{dataset}: profile {profile} ({len(store)} windows), quantile {quantile}")
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
