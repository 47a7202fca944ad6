"""Scale-out, tested: Lightning DDP on two CPU processes (gloo) through the training entry point
of the pipelines; the model is saved once and evaluates like a one-process run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from kedro.io import Version
from sklearn.metrics import roc_auc_score

from kd_gat.datasets.torch_model import TorchModelDataset
from kd_gat.scoring import detector_outputs
from tests.synthetic import synthetic_windows
from tests.training.ddp_fit import SMALL

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).with_name("ddp_fit.py")


def fit(out: Path, devices: int, strategy: str) -> None:
    env_clean = {k: v for k, v in os.environ.items() if "RANK" not in k}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), str(devices), strategy],
        capture_output=True,
        text=True,
        timeout=600,
        env=env_clean,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def val_auroc(out: Path, devices: int) -> float:
    model = TorchModelDataset(str(out / "gat_ddp.pt"), version=Version(f"v{devices}", None)).load()
    val = synthetic_windows(64, seed=2, **SMALL)
    scores = detector_outputs(model, {"val": val}, batch_size=64)["val"]
    return roc_auc_score(scores["label"], scores["score"])


def test_ddp_on_two_cpu_processes_saves_once_and_evaluates_like_one_process(tmp_path):
    fit(tmp_path, 2, "ddp")
    ranks = sorted(p.name for p in tmp_path.glob("rank_*_of_2.json"))
    assert ranks == ["rank_0_of_2.json", "rank_1_of_2.json"]  # both ran the entry point ...
    (version,) = (tmp_path / "gat_ddp.pt").iterdir()  # ... and the model was saved once
    assert [p.name for p in version.iterdir()] == ["gat_ddp.pt"]
    fit(tmp_path, 1, "auto")
    ddp, single = val_auroc(tmp_path, 2), val_auroc(tmp_path, 1)
    assert np.isfinite([ddp, single]).all()
    assert ddp > 0.8  # both learnt the separable synthetic attacks
    assert single > 0.8
    assert abs(ddp - single) < 0.1
