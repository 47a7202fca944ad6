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


@dataclass
class BanditDQNConfig:
    """Training knobs of the bandit DQN (all from `params:fusion.dqn`)."""

    hidden: int = 64
    lr: float = 1e-3
    steps: int = 2000
    batch_size: int = 128
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_steps: int = 1500
    buffer_size: int = 20000
    seed: int = 0


def epsilon_at(step: int, cfg: BanditDQNConfig) -> float:
    """Linear ε decay from `epsilon_start` to `epsilon_end` over `epsilon_decay_steps`."""
    frac = min(step / max(cfg.epsilon_decay_steps, 1), 1.0)
    return cfg.epsilon_start + frac * (cfg.epsilon_end - cfg.epsilon_start)


def train_bandit_dqn(
    states: np.ndarray,
    rewards: np.ndarray,
    cfg: BanditDQNConfig,
    sample_weights: np.ndarray | None = None,
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
    q = QNetwork(s_all.shape[1], num_arms, cfg.hidden)
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
