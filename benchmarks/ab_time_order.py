"""A/B: the GAT teacher on the full shared set_01, with ingestion's time ordering on or off.

    .venv/bin/python benchmarks/ab_time_order.py on|off

Ingests, builds the graphs and trains `gat_teacher` with conf/base parameters (the pipeline's
node functions, in one process) and prints AUROC per test scenario. `off` replaces
`kd_gat.ingestion.validate.in_time_order` with the identity, as before issue 11.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from kedro.config import OmegaConfigLoader
from sklearn.metrics import roc_auc_score

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.ingestion import validate
from kd_gat.pipelines.graphs import nodes as graphs
from kd_gat.pipelines.ingestion.nodes import ingest_captures
from kd_gat.roster import DETECTORS
from kd_gat.scoring import detector_outputs
from kd_gat.settings import CONFIG_LOADER_ARGS
from kd_gat.training.fit import train_detector

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared/data/can-train-and-test/set_01"


def main(mode: str) -> None:
    if mode == "off":
        validate.in_time_order = lambda frames: (frames, 0)
    loader = OmegaConfigLoader(
        str(ROOT / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": "base"}
    )
    p = loader["parameters"]
    frames, _, _ = ingest_captures(CaptureFolderDataset(str(DATA)).load(), p["ingestion"])
    vocabulary = graphs.learn_vocabulary(frames, DATA.name)
    train, val, test, _ = graphs.build_graph_stores(frames, vocabulary, p["graphs"])
    stats = graphs.fit_graph_feature_stats(train, vocabulary, p["graphs"])
    train, val, test = graphs.normalise_graph_stores(train, val, test, stats)
    training = {**p["training"], "checkpoint_root": tempfile.mkdtemp(prefix=f"ab_{mode}_")}
    trainer = {**p["trainer"], "enable_progress_bar": False}
    teacher = next(d for d in DETECTORS if d.name == "gat_teacher")
    started = time.time()
    model, history = train_detector(
        train, val, training, trainer, p["model_scales"], p["detector_overrides"], detector=teacher
    )
    seconds = time.time() - started
    for scenario, out in detector_outputs(model, test, 256).items():
        auroc = roc_auc_score(out["label"], out["score"])
        print(f"{mode} {scenario} AUROC {auroc:.3f} ({len(history)} epochs, {seconds:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1])
