"""Training of the fusion agent: a DQN on a contextual bandit.

There is no next state (γ = 0), so the Q-network regresses each chosen arm's immediate reward.
Contexts are drawn by sample weights (e.g. class-balanced), arms ε-greedily with a linear decay,
and the fit replays (state, arm, reward) triples from a ring buffer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from kd_gat.fusion.policy import QNetwork
from kd_gat.params.fusion import DQNParams


def epsilon_at(step: int, cfg: DQNParams) -> float:
    """Linear ε decay from `epsilon_start` to `epsilon_end` over `epsilon_decay_steps`."""
    frac = min(step / max(cfg.epsilon_decay_steps, 1), 1.0)
    return cfg.epsilon_start + frac * (cfg.epsilon_end - cfg.epsilon_start)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one CPU thread, then restore the thread count. A Q-network this small is
    faster on one thread, and with two threads on a busy machine each of its thousands of tiny
    steps waits on the other thread (measured: 30 s instead of 0.5 s for 300 steps)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_bandit_dqn(
    states: np.ndarray,
    rewards: np.ndarray,
    cfg: DQNParams,
    sample_weights: np.ndarray | None = None,
    q: QNetwork | None = None,
) -> tuple[QNetwork, list[float]]:
    """Train a Q-network on a contextual bandit given every arm's reward per context.

    Each step draws a batch of contexts (by `sample_weights`, e.g. class-balanced), picks arms
    ε-greedily, stores (state, arm, reward) in a replay buffer and fits Q(s, arm) to the reward
    on a batch sampled from the buffer. Returns the network and the loss per step.
    """
    with one_thread():
        return _train(states, rewards, cfg, sample_weights, q)


def _train(
    states: np.ndarray,
    rewards: np.ndarray,
    cfg: DQNParams,
    sample_weights: np.ndarray | None,
    q: QNetwork | None,
) -> tuple[QNetwork, list[float]]:
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
