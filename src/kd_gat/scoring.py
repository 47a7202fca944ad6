"""Scoring helpers: a trained detector's per-window outputs over graph stores, its size, its speed.

Outputs come from Lightning's `predict_step` (`GraphModule`: the model's `window_outputs`, in eval
mode under inference mode): the window's score (GAT: p(attack); VGAE: the anomaly score from μ)
and the state features that fusion learns from.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch import nn

from kd_gat.models.model_file import save_model
from kd_gat.persistence import follows, persist
from kd_gat.training.datamodule import graph_loader
from kd_gat.training.modules import MODULES
from kd_gat.training.trainer import quiet_lightning


def detector_outputs(
    model: nn.Module, stores: Mapping[str, Sequence], batch_size: int, persistence: int = 1
) -> dict[str, pd.DataFrame]:
    """Per store, one row per window (in window order): `window`, `label`, `score` (persisted
    over `persistence` windows in a row, `kd_gat.persistence`), `raw_score` (the model's own)
    and the model's state columns.

    One Lightning `predict` over every store (one dataloader each).
    """
    names = [name for name, store in stores.items() if len(store)]
    columns = ["window", "label", "score", "raw_score"]
    out = {name: pd.DataFrame(columns=columns) for name in stores}
    if not names:
        return out
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    with quiet_lightning():
        predicted = trainer.predict(
            MODULES[model.kind](model),
            [graph_loader(stores[name], batch_size=batch_size) for name in names],
        )
    if len(names) == 1:
        predicted = [predicted]
    for name, batches in zip(names, predicted, strict=True):
        table = pd.DataFrame(
            {key: np.concatenate([b[key].numpy() for b in batches]) for key in batches[0]}
        ).sort_values("window", ignore_index=True)
        raw = table["score"].to_numpy(np.float64)
        if persistence > 1:
            store = stores[name]
            if len(table) != len(store):
                raise ValueError(f"{name}: {len(table)} outputs for {len(store)} windows")
            score = persist(raw, follows(store.windows), persistence)
        else:
            score = raw
        table.insert(table.columns.get_loc("score") + 1, "raw_score", raw)
        out[name] = table.assign(score=score)
    return out


NODE_COLUMNS = ["window", "node", "node_score"]


def node_outputs(
    model: nn.Module, stores: Mapping[str, Sequence], batch_size: int
) -> dict[str, pd.DataFrame]:
    """Per store, one row per node: `window` (row of the store's window table), `node` (its
    position in the window: nodes are ordered by CAN ID) and the model's `node_score`
    (`node_scores`: where in the window the detector sees the attack). Eval mode, no gradients;
    the model's training mode is restored."""
    was_training = model.training
    model.eval()
    out = {}
    try:
        with torch.inference_mode():
            for name, store in stores.items():
                parts = []
                for batch in graph_loader(store, batch_size=batch_size):
                    graph = batch.batch.numpy()
                    ptr = batch.ptr.numpy()
                    parts.append(
                        pd.DataFrame(
                            {
                                "window": batch.window.numpy()[graph],
                                "node": np.arange(len(graph)) - ptr[graph],
                                "node_score": model.node_scores(batch).float().numpy(),
                            }
                        )
                    )
                empty = pd.DataFrame({c: np.zeros(0, np.int64) for c in NODE_COLUMNS})
                out[name] = pd.concat(parts, ignore_index=True) if parts else empty
    finally:
        model.train(was_training)
    return out


def checkpoint_bytes(model: nn.Module) -> int:
    """Size of the model's weights-only checkpoint file."""
    buffer = io.BytesIO()
    save_model(model, buffer)
    return buffer.getbuffer().nbytes


@torch.inference_mode()
def measure_speed(
    model: nn.Module, store: Sequence, batch_size: int, single_windows: int
) -> dict[str, float]:
    """CPU ms per window at batch size 1 (first `single_windows`) and windows/s batched.

    Calls the bare model (not Lightning's predict loop), so the figures are the model's own
    latency and throughput, as deployed.
    """
    model.eval()
    batches = list(graph_loader(store, range(min(single_windows, len(store))), batch_size=1))
    model.window_outputs(batches[0])  # warm-up
    start = time.perf_counter()
    for batch in batches:
        model.window_outputs(batch)
    ms_single = 1000 * (time.perf_counter() - start) / max(len(batches), 1)
    start = time.perf_counter()
    for batch in graph_loader(store, batch_size=batch_size):
        model.window_outputs(batch)
    windows_per_s = len(store) / max(time.perf_counter() - start, 1e-9)
    return {"ms_per_window_batch1": ms_single, "windows_per_s_batched": windows_per_s}
