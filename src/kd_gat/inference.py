"""Per-window outputs of a trained detector over a graph store (batched, eval mode, no grad).

One pass gives the window's score (GAT: p(attack), one softmax; VGAE: anomaly score from μ) and
the state features that fusion learns from: VGAE reconstruction errors and latent statistics,
GAT entropy and pooled-embedding statistics.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from kd_gat.models.layers import graph_inputs
from kd_gat.training.checkpoint import save_model
from kd_gat.training.datamodule import graph_loader


def _gat_outputs(model: nn.Module, batch) -> dict[str, Tensor]:
    emb = model.embed(batch)
    prob = model.head(emb).float().softmax(dim=-1)
    p = prob[:, 1]
    entropy = -(prob * prob.clamp_min(1e-12).log()).sum(dim=-1)
    return {
        "score": p,
        "gat_p": p,
        "gat_entropy": entropy,
        "gat_emb_mean": emb.mean(dim=-1),
        "gat_emb_std": emb.std(dim=-1),
        "gat_emb_norm": emb.norm(dim=-1),
    }


def _vgae_outputs(model: nn.Module, batch) -> dict[str, Tensor]:
    g = graph_inputs(batch)
    mu, logvar = model.encode(batch)
    parts = model.anomaly_components(batch, (mu, logvar))
    score = model.combine(parts)
    node_norm = mu.norm(dim=-1)
    return {
        "score": score,
        "vgae_score": score,
        "vgae_feature": parts["feature"],
        "vgae_can_id": parts["can_id"],
        "vgae_edge": parts["edge"],
        "vgae_mu_norm": scatter(node_norm, g.batch, dim_size=g.num_graphs, reduce="mean"),
        "vgae_mu_std": scatter(mu.std(dim=-1), g.batch, dim_size=g.num_graphs, reduce="mean"),
    }


OUTPUTS = {"gat": _gat_outputs, "vgae": _vgae_outputs}


@torch.inference_mode()
def detector_outputs(model: nn.Module, store: Sequence, batch_size: int = 256) -> pd.DataFrame:
    """One row per window of `store`: `window`, `label`, `score` and the model's state columns."""
    fn = OUTPUTS[model.kind]
    was_training = model.training
    model.eval()
    parts: dict[str, list[np.ndarray]] = {}
    for batch in graph_loader(store, batch_size=batch_size):
        out = {"window": batch.window.view(-1), "label": batch.y.view(-1), **fn(model, batch)}
        for key, value in out.items():
            parts.setdefault(key, []).append(value.detach().cpu().numpy())
    model.train(was_training)
    if not parts:
        return pd.DataFrame(columns=["window", "label", "score"])
    return pd.DataFrame({key: np.concatenate(values) for key, values in parts.items()})


def checkpoint_bytes(model: nn.Module) -> int:
    """Size of the model's weights-only checkpoint file."""
    buffer = io.BytesIO()
    save_model(model, buffer)
    return buffer.getbuffer().nbytes


@torch.inference_mode()
def measure_speed(
    model: nn.Module, store: Sequence, batch_size: int = 256, single_windows: int = 100
) -> dict[str, float]:
    """CPU ms per window at batch size 1 (first `single_windows`) and windows/s batched."""
    fn = OUTPUTS[model.kind]
    model.eval()
    batches = list(graph_loader(store, range(min(single_windows, len(store))), batch_size=1))
    fn(model, batches[0])  # warm-up
    start = time.perf_counter()
    for batch in batches:
        fn(model, batch)
    ms_single = 1000 * (time.perf_counter() - start) / max(len(batches), 1)
    start = time.perf_counter()
    for batch in graph_loader(store, batch_size=batch_size):
        fn(model, batch)
    windows_per_s = len(store) / max(time.perf_counter() - start, 1e-9)
    return {"ms_per_window_batch1": ms_single, "windows_per_s_batched": windows_per_s}
