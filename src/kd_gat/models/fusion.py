"""Fusion agent of the VGAE anomaly score and the GAT attack probability: a DQN on a bandit.

Per window the agent sees a state vector from both detectors and picks a fusion weight α from a
grid; the fused score is (1−α)·anomaly + α·p_attack. There is no next state (a contextual bandit,
γ = 0), so the Q-network regresses each chosen arm's immediate reward. Plain torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn


class QNetwork(nn.Module):
    """State (d,) → one Q-value per arm."""

    def __init__(self, state_dim: int, num_arms: int, hidden: int = 64) -> None:
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
        self, state_columns: list[str], n_reference: int, num_arms: int, hidden: int = 64
    ) -> None:
        super().__init__()
        self.config = {
            "state_columns": list(state_columns),
            "n_reference": n_reference,
            "num_arms": num_arms,
            "hidden": hidden,
        }
        self.state = FusionState(len(state_columns), n_reference)
        self.q = QNetwork(len(state_columns) + 1, num_arms, hidden)
        self.register_buffer("arms", torch.linspace(0, 1, num_arms))
        self.register_buffer("threshold", torch.tensor(0.5))

    @torch.no_grad()
    def forward(self, raw: Tensor, vgae_score: Tensor, gat_p: Tensor) -> tuple[Tensor, Tensor]:
        """(fused score, α) per window; the decision is `fused >= threshold`."""
        state, a = self.state(raw, vgae_score)
        alpha = self.arms[self.q(state).argmax(dim=1)]
        return (1 - alpha) * a + alpha * gat_p.float(), alpha


@dataclass
class BanditDQNConfig:
    """Training knobs of the bandit DQN (all from `params:fusion.dqn`)."""

    hidden: int = 64
    lr: float = 1e-3
    steps: int = 3000
    batch_size: int = 128
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_steps: int = 2000
    buffer_size: int = 20000
    seed: int = 42


def epsilon_at(step: int, cfg: BanditDQNConfig) -> float:
    """Linear ε decay from `epsilon_start` to `epsilon_end` over `epsilon_decay_steps`."""
    frac = min(step / max(cfg.epsilon_decay_steps, 1), 1.0)
    return cfg.epsilon_start + frac * (cfg.epsilon_end - cfg.epsilon_start)


def train_bandit_dqn(
    states: np.ndarray,
    rewards: np.ndarray,
    cfg: BanditDQNConfig,
    sample_weights: np.ndarray | None = None,
    q: QNetwork | None = None,
) -> tuple[QNetwork, list[float]]:
    """Train a Q-network on a contextual bandit given every arm's reward per context.

    Each step draws a batch of contexts (by `sample_weights`, e.g. class-balanced), picks arms
    ε-greedily, stores (state, arm, reward) in a replay buffer and fits Q(s, arm) to the reward
    on a batch sampled from the buffer. Returns the network and the loss per step.
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    s_all = torch.as_tensor(states, dtype=torch.float32)
    r_all = torch.as_tensor(rewards, dtype=torch.float32)
    n, num_arms = r_all.shape
    probs = None if sample_weights is None else sample_weights / sample_weights.sum()
    q = q if q is not None else QNetwork(s_all.shape[1], num_arms, cfg.hidden)
    q.train()
    opt = torch.optim.Adam(q.parameters(), lr=cfg.lr)
    buf_s = torch.zeros(cfg.buffer_size, s_all.shape[1])
    buf_a = torch.zeros(cfg.buffer_size, dtype=torch.long)
    buf_r = torch.zeros(cfg.buffer_size)
    filled, head, losses = 0, 0, []
    for step in range(cfg.steps):
        idx = torch.as_tensor(rng.choice(n, size=cfg.batch_size, p=probs))
        with torch.no_grad():
            greedy = q(s_all[idx]).argmax(dim=1)
        explore = torch.rand(cfg.batch_size, generator=gen) < epsilon_at(step, cfg)
        random_arms = torch.randint(num_arms, (cfg.batch_size,), generator=gen)
        arms = torch.where(explore, random_arms, greedy)
        slots = (head + torch.arange(cfg.batch_size)) % cfg.buffer_size
        buf_s[slots], buf_a[slots], buf_r[slots] = s_all[idx], arms, r_all[idx, arms]
        head = int(slots[-1] + 1) % cfg.buffer_size
        filled = min(filled + cfg.batch_size, cfg.buffer_size)
        batch = torch.randint(filled, (cfg.batch_size,), generator=gen)
        pred = q(buf_s[batch]).gather(1, buf_a[batch, None]).squeeze(1)
        loss = nn.functional.mse_loss(pred, buf_r[batch])  # γ = 0: the target is the reward
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return q.eval(), losses


@torch.no_grad()
def greedy_arms(q: QNetwork, states: np.ndarray) -> np.ndarray:
    """The arm with the highest Q-value per state (the deployed policy, no exploration)."""
    return q(torch.as_tensor(states, dtype=torch.float32)).argmax(dim=1).numpy()
