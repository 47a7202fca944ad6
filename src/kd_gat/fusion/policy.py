"""Fusion agent of the VGAE anomaly score and the GAT attack probability: a DQN on a bandit.

Per window the agent sees a state vector from both detectors and picks a fusion weight α from a
grid; the fused score is (1−α)·anomaly + α·p_attack (`fuse`, the one formula every fusion method
uses). The DQN that learns the Q-network is in `kd_gat.fusion.dqn`. Plain torch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


def fuse(anomaly, p_attack, alpha):
    """(1−α)·anomaly + α·p_attack: arrays or tensors, α per window or one for all."""
    return (1 - alpha) * anomaly + alpha * p_attack


class QNetwork(nn.Module):
    """State (d,) → one Q-value per arm."""

    def __init__(self, state_dim: int, num_arms: int, hidden: int) -> None:
        super().__init__()
        self.config = {"state_dim": state_dim, "num_arms": num_arms, "hidden": hidden}
        self.net = nn.Sequential(
            nn.Linear(state_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_arms),
        )

    def forward(self, state: Tensor) -> Tensor:
        return self.net(state)


class FusionState(nn.Module):
    """Detector outputs → the agent's state, and the VGAE score mapped to [0, 1].

    The anomaly score becomes the share of `reference` scores (normal training windows) below it;
    the other state columns are standardised with validation statistics.
    """

    def __init__(self, state_dim: int, n_reference: int) -> None:
        super().__init__()
        self.register_buffer("reference", torch.zeros(n_reference))
        self.register_buffer("mean", torch.zeros(state_dim))
        self.register_buffer("std", torch.ones(state_dim))

    def fit(self, reference: np.ndarray, raw: np.ndarray) -> FusionState:
        self.reference = torch.as_tensor(np.sort(reference), dtype=torch.float32)
        self.mean = torch.as_tensor(raw.mean(axis=0), dtype=torch.float32)
        self.std = torch.as_tensor(raw.std(axis=0), dtype=torch.float32).clamp_min(1e-6)
        return self

    def anomaly(self, vgae_score: Tensor) -> Tensor:
        """Empirical CDF of the normal reference scores at each window's score."""
        ranks = torch.searchsorted(self.reference, vgae_score.float().contiguous(), right=True)
        return ranks / max(len(self.reference), 1)

    def forward(self, raw: Tensor, vgae_score: Tensor) -> tuple[Tensor, Tensor]:
        """(state (n, d+1) = standardised raw ‖ anomaly, anomaly (n,))."""
        a = self.anomaly(vgae_score)
        return torch.cat([(raw.float() - self.mean) / self.std, a[:, None]], dim=1), a


class FusionPolicy(nn.Module):
    """The deployed DQN fusion: state → α from the grid → fused score, and its threshold.

    A `kd_gat` model (`kind`, `config`) so that the model dataset saves and reloads it with
    `weights_only=True`; `config["state_columns"]` names the detector outputs it reads.
    """

    kind = "fusion"

    def __init__(
        self, state_columns: list[str], n_reference: int, num_arms: int, hidden: int
    ) -> None:
        super().__init__()
        self.config = {
            "state_columns": list(state_columns),
            "n_reference": n_reference,
            "num_arms": num_arms,
            "hidden": hidden,
        }
        self.fingerprint = ""
        self.state = FusionState(len(state_columns), n_reference)
        self.q = QNetwork(len(state_columns) + 1, num_arms, hidden)
        self.register_buffer("arms", torch.linspace(0, 1, num_arms))
        self.register_buffer("threshold", torch.tensor(0.5))

    @torch.no_grad()
    def forward(self, raw: Tensor, vgae_score: Tensor, gat_p: Tensor) -> tuple[Tensor, Tensor]:
        """(fused score, α) per window; the decision is `fused >= threshold`."""
        state, a = self.state(raw, vgae_score)
        alpha = self.arms[self.q(state).argmax(dim=1)]
        return fuse(a, gat_p.float(), alpha), alpha
