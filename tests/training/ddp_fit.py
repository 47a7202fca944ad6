"""Train one detector through `train_detector` under a given Lightning launch and save it with
the project's model dataset; run as a script (Lightning's DDP launcher re-runs this command for
the other ranks). Each process leaves a file `rank_<r>_of_<devices>.json`.

    python tests/training/ddp_fit.py OUT_DIR DEVICES STRATEGY
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kedro.io import Version

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kd_gat.datasets.torch_model import TorchModelDataset  # noqa: E402
from kd_gat.roster import Detector  # noqa: E402
from kd_gat.tracking import global_rank  # noqa: E402
from kd_gat.training.fit import train_detector  # noqa: E402
from tests.synthetic import synthetic_windows  # noqa: E402

SMALL = {"num_ids": 24, "node_dim": 4, "edge_dim": 2, "nodes": (4, 10)}
SCALES = {
    "gat": {"tiny": {"hidden": 16, "heads": 2, "layers": 2, "embed_dim": 4, "dropout": 0.0}},
    "vgae": {"tiny": {"hidden": 16, "heads": 2, "layers": 2, "embed_dim": 4, "latent": 8,
                      "dropout": 0.0}},
}  # fmt: skip


def main(out: Path, devices: int, strategy: str) -> None:
    train, val = synthetic_windows(128, seed=1, **SMALL), synthetic_windows(64, seed=2, **SMALL)
    trainer = {
        "accelerator": "cpu",
        "devices": devices,
        "strategy": strategy,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    # the same global batch (16) and so the same optimiser steps per epoch on any device count
    training = {"max_epochs": 4, "batch_size": 16 // devices, "lr": 5e-3, "patience": 10,
                "checkpoint_root": str(out / "checkpoints")}  # fmt: skip
    model, history = train_detector(
        train, val, training, trainer, SCALES, detector=Detector("gat_ddp", "gat", "tiny")
    )
    TorchModelDataset(str(out / "gat_ddp.pt"), version=Version(None, f"v{devices}")).save(model)
    if global_rank() == 0:
        (out / f"history_{devices}.json").write_text(history.to_json(orient="records"))
    (out / f"rank_{global_rank()}_of_{devices}.json").write_text(json.dumps(len(history)))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
