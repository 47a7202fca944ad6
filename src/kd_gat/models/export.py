"""A detector as a function of plain tensors, for the formats that deploy it: ONNX (the export
pipeline, `kd_gat.bundle`) and torch.export (MLflow's "pt2" models, `kd_gat.tracking`).

`Detector(model)(x, node_id, edge_index, edge_attr, batch, window_index)` returns, for a batch
of window graphs laid out as PyG concatenates them (`edge_index` in batch-wide node numbers,
`batch` the window of each node), the score of each window and the score of each node:
`model.detect(...)`. `window_index` is `arange(n_windows)`; only its length is read, so that the
number of windows is an input dimension like the node and edge counts (all three are free in
the exported graph: one window per call in a car, thousands in a benchmark).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch import Tensor, nn

INPUTS = ("x", "node_id", "edge_index", "edge_attr", "batch", "window_index")
OUTPUTS = ("score", "node_score")
# Which dimension of each input is free: nodes, edges or windows.
FREE_DIMS = {
    "x": {0: "nodes"},
    "node_id": {0: "nodes"},
    "edge_index": {1: "edges"},
    "edge_attr": {0: "edges"},
    "batch": {0: "nodes"},
    "window_index": {0: "windows"},
}
OPSET = 18


class _Windows:
    """The attributes `kd_gat.models.layers.graph_inputs` reads from a PyG `Batch`."""

    def __init__(self, x, node_id, edge_index, edge_attr, batch, num_graphs) -> None:
        self.x, self.node_id, self.edge_index, self.edge_attr = x, node_id, edge_index, edge_attr
        self.batch, self.num_graphs = batch, num_graphs


class Detector(nn.Module):
    """Window scores (n_windows,) and node scores (n_nodes,) of a batch of window graphs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(
        self,
        x: Tensor,
        node_id: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor,
        batch: Tensor,
        window_index: Tensor,
    ) -> tuple[Tensor, Tensor]:
        windows = _Windows(x, node_id, edge_index, edge_attr, batch, window_index.shape[0])
        return self.model.detect(windows)


def batch_inputs(batch) -> tuple[np.ndarray, ...]:
    """The detector's inputs (`INPUTS`) for a PyG `Data` (one window) or `Batch`, as numpy."""
    n_nodes = batch.x.shape[0]
    nodes_window = getattr(batch, "batch", None)
    if nodes_window is None:
        nodes_window = torch.zeros(n_nodes, dtype=torch.long)
    n_windows = int(getattr(batch, "num_graphs", 1))
    return (
        batch.x.numpy().astype(np.float32, copy=False),
        batch.node_id.numpy().astype(np.int64, copy=False),
        batch.edge_index.numpy().astype(np.int64, copy=False),
        batch.edge_attr.numpy().astype(np.float32, copy=False),
        nodes_window.numpy().astype(np.int64, copy=False),
        np.arange(n_windows, dtype=np.int64),
    )


def input_shapes(example: tuple[np.ndarray, ...]) -> dict[str, tuple[int, ...]]:
    """Each input's shape with its free dimensions (nodes, edges, windows) as -1."""
    return {
        name: tuple(-1 if i in FREE_DIMS[name] else d for i, d in enumerate(array.shape))
        for name, array in zip(INPUTS, example, strict=True)
    }


def dynamic_shapes() -> dict[str, dict[int, torch.export.Dim]]:
    """torch.export's free dimensions: one symbol each for nodes, edges and windows."""
    dims = {
        "nodes": torch.export.Dim("nodes", min=2),
        "edges": torch.export.Dim("edges", min=2),
        "windows": torch.export.Dim("windows", min=2),
    }
    return {name: {i: dims[d] for i, d in free.items()} for name, free in FREE_DIMS.items()}


def export_onnx(model: nn.Module, example) -> bytes:
    """`Detector(model)` as an ONNX model (bytes), through torch.export (the dynamo exporter);
    `example` is a PyG `Batch` of at least two windows (a dimension of size 1 would be fixed)."""
    inputs = tuple(torch.from_numpy(a) for a in batch_inputs(example))
    with warnings.catch_warnings(), torch.no_grad():
        # the exporter's own notes (no torchvision ops, deprecated internals): not ours to fix
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            Detector(model),
            inputs,
            dynamic_shapes=dynamic_shapes(),
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
    buffer = io.BytesIO()
    program.save(buffer)
    return buffer.getvalue()
