"""Synthetic window graphs shaped like the graph store's items, for tests and benchmarks.

Normal windows: each node's features are its CAN ID's prototype plus small noise, so a VGAE
can learn to reconstruct them. Attack windows: a few nodes get shifted features and an
"injected" CAN ID, a pattern a classifier can learn. Sizes default to real windows of 100
frames (30–60 distinct IDs, ≈ 100 directed edges).
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data


class GraphList(list):
    """A list of `Data` windows with the `GraphStore` attributes training reads: `num_ids`
    (vocabulary size incl. the OOV bucket) and `y` (window labels)."""

    def __init__(self, items: list[Data], num_ids: int) -> None:
        super().__init__(items)
        self.num_ids = num_ids
        self.y = np.array([int(d.y) for d in items], dtype=np.int64)


def synthetic_windows(
    n_windows: int,
    num_ids: int = 64,
    node_dim: int = 8,
    edge_dim: int = 4,
    nodes: tuple[int, int] = (30, 60),
    edges_per_node: float = 2.0,
    attack_rate: float = 0.2,
    seed: int = 0,
) -> GraphList:
    """`n_windows` graphs with fields x, node_id, edge_index, edge_attr, y, window."""
    rng = np.random.default_rng(seed)
    prototypes = rng.normal(size=(num_ids, node_dim)).astype(np.float32)
    injected_id = num_ids - 2  # one ID reserved for injected frames (num_ids-1 is OOV)
    items = []
    for w in range(n_windows):
        n = int(rng.integers(nodes[0], nodes[1] + 1))
        node_id = rng.choice(num_ids - 2, size=n, replace=n > num_ids - 2)
        x = prototypes[node_id] + 0.1 * rng.normal(size=(n, node_dim)).astype(np.float32)
        attack = rng.random() < attack_rate
        if attack:
            hit = rng.choice(n, size=max(1, n // 5), replace=False)
            x[hit, 0] += 3.0
            node_id[hit[0]] = injected_id
        n_edges = int(edges_per_node * n)
        edge_index = rng.integers(0, n, size=(2, n_edges))
        items.append(
            Data(
                x=torch.from_numpy(x.astype(np.float32)),
                node_id=torch.from_numpy(node_id.astype(np.int64)),
                edge_index=torch.from_numpy(edge_index.astype(np.int64)),
                edge_attr=torch.from_numpy(rng.normal(size=(n_edges, edge_dim)).astype(np.float32)),
                y=torch.tensor([int(attack)], dtype=torch.long),
                window=torch.tensor([w], dtype=torch.long),
            )
        )
    return GraphList(items, num_ids)


def architecture(kind: str, **keys) -> dict:
    """Model hyper-parameters of `kind` with every default of its parameter model filled in
    (the models' constructors have no defaults of their own)."""
    from kd_gat.params.training import MODEL_PARAMS

    return MODEL_PARAMS[kind](**keys).model_dump()
