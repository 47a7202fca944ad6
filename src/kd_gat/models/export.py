"""A detector as a function of plain tensors, for formats that trace the model (torch.export for
MLflow's "pt2" models; later ONNX): one window in, its score out.

`WindowScorer(model)(x, node_id, edge_index, edge_attr)` equals `model.window_outputs(window)
["score"]` for the window graph with those tensors (docs/interfaces.md). One window per call,
as a detector in a car scores them: the number of nodes and edges is free, the batch is one.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor, nn
from torch_geometric.data import Data

INPUTS = ("x", "node_id", "edge_index", "edge_attr")
FREE_DIMS = {"x": (0,), "node_id": (0,), "edge_index": (1,), "edge_attr": (0,)}


class WindowScorer(nn.Module):
    """Score of one window graph from its tensors."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(self, x: Tensor, node_id: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        window = Data(x=x, node_id=node_id, edge_index=edge_index, edge_attr=edge_attr)
        return self.model.window_outputs(window)["score"]


def window_inputs(window: Data) -> tuple[np.ndarray, ...]:
    """The scorer's inputs for one window of a graph store, as numpy arrays."""
    return tuple(getattr(window, name).numpy() for name in INPUTS)


def input_shapes(example: tuple[np.ndarray, ...]) -> dict[str, tuple[int, ...]]:
    """Each input's shape with its free dimensions (nodes, edges) as -1."""
    return {
        name: tuple(-1 if i in FREE_DIMS[name] else d for i, d in enumerate(array.shape))
        for name, array in zip(INPUTS, example, strict=True)
    }
