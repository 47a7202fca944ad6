"""Building blocks shared by the GAT classifier and the VGAE: plain torch.nn, no Kedro/Lightning."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch_geometric.nn import GATv2Conv


class GraphInputs(NamedTuple):
    """The tensors a model reads from a PyG `Data`/`Batch` window graph."""

    x: Tensor
    node_id: Tensor
    edge_index: Tensor
    edge_attr: Tensor | None
    batch: Tensor
    num_graphs: int


def graph_inputs(data) -> GraphInputs:
    """Unpack a `Data` (one window, no `batch` vector) or a `Batch` (many windows)."""
    batch = getattr(data, "batch", None)
    if batch is None:
        batch = torch.zeros(data.num_nodes, dtype=torch.long, device=data.x.device)
        num_graphs = 1
    else:
        num_graphs = data.num_graphs  # an int; symbolic when exported (kd_gat.models.export)
    return GraphInputs(
        data.x, data.node_id, data.edge_index, getattr(data, "edge_attr", None), batch, num_graphs
    )


def init_arguments(init_locals: dict[str, Any]) -> dict[str, Any]:
    """A constructor's arguments, from `locals()` taken first thing in `__init__`: a model's
    `config`, enough to rebuild it (see `kd_gat.models.model_file`)."""
    return {k: v for k, v in init_locals.items() if k not in ("self", "__class__")}


def mlp(dims: Sequence[int], dropout: float = 0.0) -> nn.Sequential:
    """Linear → ELU → Dropout blocks through `dims`; the last Linear has no activation."""
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
        layers.append(nn.Linear(d_in, d_out))
        if i < len(dims) - 2:
            layers += [nn.ELU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


class NodeEncoder(nn.Module):
    """Node input: normalised features ‖ learnt CAN-ID embedding, projected to `hidden`.

    The embedding lets the network tell arbitration IDs apart (an ID's normal payload and
    timing are ID-specific); the last vocabulary row is the out-of-vocabulary bucket. Without
    it (`can_ids=False`) the model sees only the features, and nothing that names one car's IDs.
    """

    def __init__(
        self, num_ids: int, node_dim: int, embed_dim: int, hidden: int, can_ids: bool = True
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_ids, embed_dim) if can_ids else None
        self.proj = nn.Linear(node_dim + (embed_dim if can_ids else 0), hidden)

    def forward(self, x: Tensor, node_id: Tensor) -> Tensor:
        if self.embedding is not None:
            x = torch.cat([x, self.embedding(node_id)], dim=-1)
        return F.elu(self.proj(x))


class GATv2Stack(nn.Module):
    """`layers` GATv2 blocks of constant width `hidden` (= heads × hidden/heads, concatenated).

    Edge features enter the attention scores (`edge_dim`); each block is residual with a
    LayerNorm, which keeps deep teachers trainable and is independent of the batch size.
    Returns every block's output so that callers can apply jumping knowledge.
    """

    def __init__(self, hidden: int, heads: int, layers: int, edge_dim: int, dropout: float) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        self.convs = nn.ModuleList(
            GATv2Conv(
                hidden,
                hidden // heads,
                heads=heads,
                edge_dim=edge_dim or None,
                dropout=dropout,
                add_self_loops=True,
            )
            for _ in range(layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: Tensor, edge_index: Tensor, edge_attr: Tensor | None) -> list[Tensor]:
        outputs = []
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = norm(h + self.dropout(F.elu(conv(h, edge_index, edge_attr))))
            outputs.append(h)
        return outputs


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
