"""Variational graph auto-encoder of normal windows; its reconstruction error scores anomalies.

Encoder: CAN-ID embedding (optional) + GATv2 layers (edge features in attention) → μ, log σ²
per node. Decoders from the latent node states: node features (MLP), CAN ID (logits over the
vocabulary; only with the embedding) and neighbourhood (inner product z_i·z_j per directed
edge). Training samples z and negative edges; scoring uses μ only, so a window's score is
deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch_geometric.utils import scatter

from kd_gat.models.layers import GATv2Stack, NodeEncoder, graph_inputs, init_arguments, mlp

LOGVAR_RANGE = (-10.0, 10.0)  # keeps exp(logvar) finite in the KL term and the sampling


@dataclass
class VGAEOutput:
    """Everything the losses need; `neg_edge_*` only in training mode."""

    mu: Tensor  # (N, latent)
    logvar: Tensor  # (N, latent)
    z: Tensor  # (N, latent): a sample in training, μ in eval
    x_hat: Tensor  # (N, node_dim)
    id_logits: Tensor | None  # (N, num_ids); None for a model without CAN IDs
    pos_edge_logits: Tensor  # (E,)
    neg_edge_logits: Tensor | None = None  # (E',)


@dataclass
class ReconstructionErrors:
    """Per-node and per-edge reconstruction errors (the terms of both loss and score)."""

    feature: Tensor  # (N,) mean squared error over node features
    can_id: Tensor  # (N,) cross-entropy of the node's CAN ID
    edge: Tensor  # (E,) −log σ(z_i·z_j) of observed edges
    non_edge: Tensor | None  # (E',) −log(1 − σ(z_i·z_j)) of sampled non-edges


def reconstruction_errors(out: VGAEOutput, data) -> ReconstructionErrors:
    """Element-wise reconstruction errors of one forward pass on `data`."""
    return ReconstructionErrors(
        feature=F.mse_loss(out.x_hat, data.x, reduction="none").mean(dim=-1),
        can_id=data.x.new_zeros(data.x.shape[0])
        if out.id_logits is None
        # cross-entropy per node, written as log-softmax + gather: the ONNX exporter cannot
        # decompose `F.cross_entropy(..., reduction="none")`
        else -out.id_logits.log_softmax(dim=-1).gather(1, data.node_id[:, None].long())[:, 0],
        edge=F.softplus(-out.pos_edge_logits),
        non_edge=None if out.neg_edge_logits is None else F.softplus(out.neg_edge_logits),
    )


def sample_non_edges(edge_index: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """One candidate non-edge per edge: same source, uniform destination in the same graph.

    Vectorised over the batch (PyG's batched sampler loops over graphs in Python); candidates
    that are self-pairs or observed edges are dropped.
    """
    if edge_index.numel() == 0:
        return edge_index
    counts = torch.bincount(batch, minlength=num_graphs)
    first = torch.cumsum(counts, 0) - counts
    src = edge_index[0]
    graph = batch[src]
    dst = first[graph] + (torch.rand(src.shape, device=src.device) * counts[graph]).long()
    n = batch.numel()
    keep = (src != dst) & ~torch.isin(src * n + dst, edge_index[0] * n + edge_index[1])
    return torch.stack([src[keep], dst[keep]])


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """Mean over nodes of KL(N(μ, σ²) ‖ N(0, I))."""
    return -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1))


class GraphVGAE(nn.Module):
    """VGAE over window graphs with feature, CAN-ID and neighbourhood decoders.

    `score_weights` (feature, can_id, edge) weigh the per-window error terms in
    `anomaly_score`. `config` holds every constructor argument; the architecture's defaults and
    bounds live in `kd_gat.params.training.VGAEParams`.
    """

    kind: ClassVar[str] = "vgae"

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
        latent: int,
        dropout: float,
        score_weights: tuple[float, float, float],
        can_ids: bool = True,
    ) -> None:
        config = init_arguments(locals()) | {"score_weights": tuple(map(float, score_weights))}
        super().__init__()
        self.config: dict[str, Any] = config
        self.fingerprint = ""  # of the graphs it is trained on (`kd_gat.fingerprint`)
        self.name = ""  # its roster name, set when it is trained
        self.latent = latent
        self.encoder = NodeEncoder(num_ids, node_dim, embed_dim, hidden, can_ids)
        self.gnn = GATv2Stack(hidden, heads, layers, edge_dim, dropout)
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.feature_decoder = mlp([latent, hidden, node_dim], dropout)
        # Without CAN IDs there is no ID to reconstruct: its error is 0.
        self.id_decoder = mlp([latent, hidden, num_ids], dropout) if can_ids else None
        self.register_buffer("score_weights", torch.tensor(score_weights, dtype=torch.float32))

    def encode(self, data) -> tuple[Tensor, Tensor]:
        """μ and log σ² per node."""
        g = graph_inputs(data)
        h = self.gnn(self.encoder(g.x, g.node_id), g.edge_index, g.edge_attr)[-1]
        return self.mu(h), self.logvar(h).clamp(*LOGVAR_RANGE)

    @staticmethod
    def edge_logits(z: Tensor, edge_index: Tensor) -> Tensor:
        """Inner-product decoder: logit of an edge src→dst."""
        return (z[edge_index[0]] * z[edge_index[1]]).sum(dim=-1)

    def _decode(
        self, data, mu: Tensor, logvar: Tensor, z: Tensor, neg_index: Tensor | None
    ) -> VGAEOutput:
        return VGAEOutput(
            mu=mu,
            logvar=logvar,
            z=z,
            x_hat=self.feature_decoder(z),
            id_logits=None if self.id_decoder is None else self.id_decoder(z),
            pos_edge_logits=self.edge_logits(z, data.edge_index),
            neg_edge_logits=None if neg_index is None else self.edge_logits(z, neg_index),
        )

    def forward(self, data) -> VGAEOutput:
        """Training: z sampled, non-edges sampled per graph. Eval: z = μ, no non-edges."""
        mu, logvar = self.encode(data)
        if not self.training:
            return self._decode(data, mu, logvar, mu, None)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        g = graph_inputs(data)
        neg_index = sample_non_edges(g.edge_index, g.batch, g.num_graphs)
        return self._decode(data, mu, logvar, z, neg_index)

    def anomaly_components(
        self, data, encoded: tuple[Tensor, Tensor] | None = None
    ) -> dict[str, Tensor]:
        """Per-window mean errors (num_graphs,) decoded from μ: feature, can_id, edge.

        Deterministic in eval mode (no sampling anywhere; dropout off). `encoded` passes an
        `encode(data)` already computed, so a caller needing μ too encodes once.
        """
        return self._window_errors(self._errors(data, encoded), graph_inputs(data))

    def node_scores(self, data) -> Tensor:
        """Per node (num_nodes,): the `score_weights`-weighted feature and CAN-ID errors of the
        node plus the mean error of its outgoing edges (0 without one), decoded from μ: where in
        the window the reconstruction fails."""
        return self._node_scores(self._errors(data), graph_inputs(data))

    def detect(self, data) -> tuple[Tensor, Tensor]:
        """What a deployed detector emits, from one pass: the anomaly score per window
        (num_graphs,) and `node_scores` (num_nodes,)."""
        g = graph_inputs(data)
        err = self._errors(data)
        return self.combine(self._window_errors(err, g)), self._node_scores(err, g)

    def _errors(self, data, encoded: tuple[Tensor, Tensor] | None = None) -> ReconstructionErrors:
        mu, logvar = self.encode(data) if encoded is None else encoded
        return reconstruction_errors(self._decode(data, mu, logvar, mu, None), data)

    @staticmethod
    def _window_errors(err: ReconstructionErrors, g) -> dict[str, Tensor]:
        edge_graph = g.batch[g.edge_index[0]]
        return {
            "feature": scatter(err.feature, g.batch, dim_size=g.num_graphs, reduce="mean"),
            "can_id": scatter(err.can_id, g.batch, dim_size=g.num_graphs, reduce="mean"),
            "edge": scatter(err.edge, edge_graph, dim_size=g.num_graphs, reduce="mean"),
        }

    def _node_scores(self, err: ReconstructionErrors, g) -> Tensor:
        edge = scatter(err.edge, g.edge_index[0], dim_size=g.x.shape[0], reduce="mean")
        return torch.stack([err.feature, err.can_id, edge], dim=-1) @ self.score_weights

    def combine(self, parts: dict[str, Tensor]) -> Tensor:
        """The anomaly score: `score_weights`-weighted sum of the per-window errors."""
        stacked = torch.stack([parts["feature"], parts["can_id"], parts["edge"]], dim=-1)
        return stacked @ self.score_weights

    def anomaly_score(self, data) -> Tensor:
        """Weighted sum of the per-window errors (num_graphs,); higher = more anomalous."""
        return self.combine(self.anomaly_components(data))

    def window_outputs(self, data) -> dict[str, Tensor]:
        """Per window: the anomaly score and the state fusion learns from (each error term,
        statistics of μ); the window is encoded once."""
        g = graph_inputs(data)
        mu, logvar = self.encode(data)
        parts = self.anomaly_components(data, (mu, logvar))
        score = self.combine(parts)
        return {
            "score": score,
            "vgae_score": score,
            "vgae_feature": parts["feature"],
            "vgae_can_id": parts["can_id"],
            "vgae_edge": parts["edge"],
            "vgae_mu_norm": scatter(mu.norm(dim=-1), g.batch, dim_size=g.num_graphs, reduce="mean"),
            "vgae_mu_std": scatter(mu.std(dim=-1), g.batch, dim_size=g.num_graphs, reduce="mean"),
        }
