"""A/B: the GAT teacher on the full shared set_01, with ingestion's time ordering on or off.

    .venv/bin/python benchmarks/ab_time_order.py on|off

Ingests, builds the graphs and trains `gat_teacher` with conf/base parameters (the pipeline's
node functions, in one process) and prints AUROC per test scenario. `off` replaces
`kd_gat.ingestion.validate.in_time_order` with the identity, as before issue 11.
"""

import sys
import tempfile
import time
from pathlib import Path

from sklearn.metrics import roc_auc_score

import kd_gat.ingestion.validate as v

if sys.argv[1] == "off":
    v.in_time_order = lambda frames: (frames, 0)
from kedro.config import OmegaConfigLoader

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.pipelines.graphs import nodes as g
from kd_gat.pipelines.ingestion.nodes import ingest_captures
from kd_gat.roster import DETECTORS
from kd_gat.scoring import detector_outputs
from kd_gat.settings import CONFIG_LOADER_ARGS
from kd_gat.training.fit import train_detector

P = OmegaConfigLoader(
    str(Path(__file__).resolve().parents[1] / "conf"),
    **{**CONFIG_LOADER_ARGS, "default_run_env": "base"},
)["parameters"]
caps = CaptureFolderDataset(
    str(Path(__file__).resolve().parents[2] / "shared/data/can-train-and-test/set_01")
).load()
frames, _, _ = ingest_captures(caps, P["ingestion"])
vocab = g.learn_vocabulary(frames, "set_01")
tr, va, te, _ = g.build_graph_stores(frames, vocab, P["graphs"])
st = g.fit_graph_feature_stats(tr, vocab, P["graphs"])
tr, va, te = g.normalise_graph_stores(tr, va, te, st)
print("windows", len(tr), len(va), {k: len(s) for k, s in te.items()}, flush=True)
d = next(x for x in DETECTORS if x.name == "gat_teacher")
training = {**P["training"], "checkpoint_root": tempfile.mkdtemp(prefix=f"ab_{sys.argv[1]}_")}
t = time.time()
model, hist = train_detector(
    tr,
    va,
    training,
    {**P["trainer"], "enable_progress_bar": False},
    P["model_scales"],
    P["detector_overrides"],
    detector=d,
)
out = detector_outputs(model, te, 256)
for k, o in out.items():
    print(
        sys.argv[1],
        k,
        "AUROC",
        round(roc_auc_score(o["label"], o["score"]), 3),
        "epochs",
        len(hist),
        round(time.time() - t),
        "s",
        flush=True,
    )
