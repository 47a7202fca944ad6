"""Scoring helpers: per-window detector outputs (through Lightning's predict_step) agree with
the models' own scoring, in store order; size and speed."""

import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from kd_gat.models import build_model
from kd_gat.scoring import checkpoint_bytes, detector_outputs, measure_speed
from tests.synthetic import architecture, synthetic_windows

SIZES = {"num_ids": 32, "node_dim": 8, "edge_dim": 4}
SMALL = {"hidden": 16, "heads": 2, "layers": 2, "embed_dim": 4, "dropout": 0.1}


def test_vgae_outputs_are_its_anomaly_score_and_latent_stats() -> None:
    graphs = synthetic_windows(40, num_ids=32, seed=3)
    torch.manual_seed(0)
    model = build_model("vgae", architecture("vgae", **SMALL, latent=8), **SIZES)
    out = detector_outputs(model, {"val": graphs, "empty": graphs[:0]}, batch_size=16)
    assert out["empty"].empty
    out = out["val"]
    model.eval()
    with torch.no_grad():
        batches = list(DataLoader(graphs, batch_size=16))
        expected = torch.cat([model.anomaly_score(b) for b in batches]).numpy()
        first_mu = model.encode(graphs[0])[0]
    np.testing.assert_allclose(out["score"], expected, rtol=1e-5)
    np.testing.assert_allclose(out["vgae_score"], out["score"])
    assert out["window"].tolist() == list(range(40))
    assert out["label"].tolist() == [int(g.y) for g in graphs]
    assert out.loc[0, "vgae_mu_norm"] == pytest.approx(
        float(first_mu.norm(dim=-1).mean()), rel=1e-5
    )


def test_gat_outputs_are_one_softmax_and_its_entropy() -> None:
    graphs = synthetic_windows(20, num_ids=32, seed=4)
    torch.manual_seed(0)
    model = build_model("gat", architecture("gat", **SMALL), **SIZES)
    out = detector_outputs(model, {"test": graphs}, batch_size=8)["test"]
    with torch.no_grad():
        prob = model.eval()(next(iter(DataLoader(graphs, batch_size=20)))).softmax(-1)
    np.testing.assert_allclose(out["gat_p"], prob[:, 1].numpy(), rtol=1e-5)
    entropy = -(prob * prob.log()).sum(-1).numpy()
    np.testing.assert_allclose(out["gat_entropy"], entropy, rtol=1e-4)
    speed = measure_speed(model, graphs, batch_size=8, single_windows=5)
    assert speed["ms_per_window_batch1"] > 0
    assert speed["windows_per_s_batched"] > 0
    assert checkpoint_bytes(model) > 4 * sum(p.numel() for p in model.parameters())
