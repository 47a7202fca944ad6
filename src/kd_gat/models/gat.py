"""Supervised window classifier: (CAN-ID embedding) → GATv2 (edge features) → JK → pooling → MLP."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch_geometric.nn import JumpingKnowledge, global_max_pool, global_mean_pool

from kd_gat.models.layers import GATv2Stack, NodeEncoder, graph_inputs, init_arguments, mlp


class GATClassifier(nn.Module):
    """Graph attention classifier of one window graph into normal (0) / attack (1).

    Jumping knowledge combines every layer's node states (`jk`: cat, max or lstm); a linear
    projection brings the JK output back to `hidden` so the head's input is 2·hidden (mean ‖ max
    pooling) whatever the depth, instead of layers·hidden. `config` holds every constructor
    argument, so that a saved state dict can rebuild the model; the architecture's defaults and
    bounds live in `kd_gat.params.training.GATParams`.
    """

    kind: ClassVar[str] = "gat"

    def __init__(
        self,
        num_ids: int,
        node_dim: int,
        edge_dim: int,
        *,
        hidden: int,
        heads: int,
        layers: int,
        embed_dim: int,
        dropout: float,
        jk: str,
        head_hidden: int | None,
        can_ids: bool = True,
        num_classes: int = 2,
    ) -> None:
        config = init_arguments(locals())
        super().__init__()
        self.config: dict[str, Any] = config
        self.fingerprint = ""  # of the graphs it is trained on (`kd_gat.fingerprint`)
        self.name = ""  # its roster name, set when it is trained
        self.encoder = NodeEncoder(num_ids, node_dim, embed_dim, hidden, can_ids)
        self.gnn = GATv2Stack(hidden, heads, layers, edge_dim, dropout)
        self.jk = JumpingKnowledge(jk, channels=hidden, num_layers=layers)
        self.jk_proj = nn.Linear(hidden * layers if jk == "cat" else hidden, hidden)
        self.embedding_dim = 2 * hidden
        self.head = mlp([self.embedding_dim, head_hidden or hidden, num_classes], dropout)

    def node_states(self, data) -> Tensor:
        """The JK node states (num_nodes, hidden) that the window embedding pools."""
        g = graph_inputs(data)
        h = self.encoder(g.x, g.node_id)
        return self.jk_proj(self.jk(self.gnn(h, g.edge_index, g.edge_attr)))

    def node_scores(self, data) -> Tensor:
        """Per node (num_nodes,): p(attack) of the node's state pooled alone (mean = max = its
        state) through the window head, in its window's context (message passing ran over the
        whole window). An attribution without extra training: which node alone looks like an
        attack to the classifier."""
        h = self.node_states(data)
        return self.attack_probability(self.head(torch.cat([h, h], dim=-1)))

    def detect(self, data) -> tuple[Tensor, Tensor]:
        """What a deployed detector emits, from one pass: p(attack) per window (num_graphs,)
        and `node_scores` (num_nodes,)."""
        g = graph_inputs(data)
        h = self.node_states(data)
        pooled = torch.cat(
            [
                global_mean_pool(h, g.batch, size=g.num_graphs),
                global_max_pool(h, g.batch, size=g.num_graphs),
            ],
            dim=-1,
        )
        nodes = self.attack_probability(self.head(torch.cat([h, h], dim=-1)))
        return self.attack_probability(self.head(pooled)), nodes

    def embed(self, data) -> Tensor:
        """Pooled graph embedding (num_graphs, 2·hidden): mean ‖ max of the JK node states."""
        g = graph_inputs(data)
        h = self.node_states(data)
        return torch.cat(
            [
                global_mean_pool(h, g.batch, size=g.num_graphs),
                global_max_pool(h, g.batch, size=g.num_graphs),
            ],
            dim=-1,
        )

    def forward(self, data) -> Tensor:
        """Logits (num_graphs, num_classes)."""
        return self.head(self.embed(data))

    @staticmethod
    def attack_probability(logits: Tensor) -> Tensor:
        """p(attack) per window from the logits (softmax in float32, class 1)."""
        return logits.float().softmax(dim=-1)[:, 1]

    def window_outputs(self, data) -> dict[str, Tensor]:
        """Per window: the score p(attack) and the state fusion learns from (the entropy of the
        prediction, statistics of the pooled embedding); one forward pass."""
        emb = self.embed(data)
        logits = self.head(emb).float()
        p = self.attack_probability(logits)
        log_prob = logits.log_softmax(dim=-1)
        return {
            "score": p,
            "gat_p": p,
            "gat_entropy": -(log_prob.exp() * log_prob).sum(dim=-1),
            "gat_emb_mean": emb.mean(dim=-1),
            "gat_emb_std": emb.std(dim=-1),
            "gat_emb_norm": emb.norm(dim=-1),
        }
