"""Probe: each detector's window score pooled from its node scores (max, mean of the top k)
against the model's own window score, at both operating points.

    python benchmarks/pooling_probe.py DATASET [ENV] [key=value,...]

Reads a completed run's `<name>.node_outputs` (val and test), `<name>.profile_node_outputs`,
`window_scores`, `graphs_val`/`graphs_test` windows, `capture_matches`, `vehicle_profiles` and
parameters; pools node scores per window; sets the validation threshold (`choose_threshold` on val)
and profile thresholds (`budget_threshold` on the profile windows after warm-up) exactly as the
pipeline does; prints window F1, MCC and AUROC per model, pooling, operating point and scenario.
A scratch tool for choosing the VGAE's window score (issue 15); nothing here is a default.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from kd_gat import roster
from kd_gat.metrics import choose_threshold
from kd_gat.operating_points import with_operating_points
from kd_gat.profiles import budget_threshold
from kd_gat.reporting import metrics_table

POOLINGS = {"max": 1, "top3": 3}


def pool(nodes: pd.DataFrame, keys: list[str], k: int) -> pd.DataFrame:
    """Mean of the k highest node scores of each window (k = 1: the max)."""
    ranked = nodes.sort_values([*keys, "node_score"], ascending=[True] * len(keys) + [False])
    top = ranked.groupby(keys, sort=False).head(k)
    return top.groupby(keys, sort=True)["node_score"].mean().rename("score").reset_index()


def main() -> None:
    dataset = sys.argv[1]
    env = sys.argv[2] if len(sys.argv) > 2 else None
    extra = dict(kv.split("=", 1) for kv in sys.argv[3].split(",")) if len(sys.argv) > 3 else {}
    root = Path(__file__).resolve().parents[1]
    bootstrap_project(root)
    runtime = {"dataset": dataset, **extra}
    with KedroSession.create(root, env=env, runtime_params=runtime) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        val_labels = catalog.load("graphs_val").windows["label"].to_numpy()
        test = {s: store.windows for s, store in catalog.load("graphs_test").items()}
        matches, profiles = catalog.load("capture_matches"), catalog.load("vehicle_profiles")
        own = catalog.load("window_scores")
        names = roster.detector_names()
        nodes = {n: catalog.load(f"{n}.node_outputs") for n in names}
        profile_nodes = {n: catalog.load(f"{n}.profile_node_outputs") for n in names}
    budget = params["profiles"]["false_alarms_per_hour"]
    rows = [metrics_table(own[own["model"].isin(names)]).assign(pooling="window")]
    for name in names:
        for pooling, k in POOLINGS.items():
            pooled = pool(nodes[name], ["split", "scenario", "window"], k)
            val = pooled[pooled["split"] == "val"].sort_values("window")
            threshold = choose_threshold(
                val_labels[val["window"]],
                val["score"].to_numpy(),
                params["evaluation"]["normal_quantile"],
            )
            scores = pooled[pooled["split"] == "test"].assign(model=name, threshold=threshold)
            labels = pd.concat(
                [t[["label"]].assign(scenario=s, window=np.arange(len(t))) for s, t in test.items()]
            )
            scores = scores.merge(labels, on=["scenario", "window"])
            settled = profile_nodes[name][~profile_nodes[name]["warmup"].astype(bool)]
            thresholds = []
            for vehicle, group in pool(settled, ["vehicle", "window"], k).groupby("vehicle"):
                minutes = profiles["profiles"][vehicle]["minutes"]
                allowed = int(np.floor(budget * minutes / 60.0))
                thresholds.append(
                    {
                        "model": name,
                        "vehicle": vehicle,
                        "threshold": budget_threshold(group["score"], allowed),
                    }
                )
            table = with_operating_points(
                scores[["model", "scenario", "window", "label", "score", "threshold"]],
                test,
                matches,
                pd.DataFrame(thresholds),
            )
            rows.append(metrics_table(table).assign(pooling=pooling))
    out = pd.concat(rows, ignore_index=True)
    wide = out.pivot_table(
        index=["model", "pooling"], columns=["scenario", "operating_point"], values="f1"
    )
    print(wide.round(3).to_markdown())
    auroc = out[out["operating_point"] == "validation"].pivot_table(
        index=["model", "pooling"], columns="scenario", values="auroc"
    )
    print(auroc.round(3).to_markdown())


if __name__ == "__main__":
    main()
