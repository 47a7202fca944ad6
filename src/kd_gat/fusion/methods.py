"""Fusion methods on per-window detector outputs; each yields a fused score per window.

Every method is fitted on validation windows (their states, normalised anomaly score `a`, GAT
attack probability `p` and labels `y`) and then applied unchanged to test windows; its decision
threshold is chosen on the same validation windows (`kd_gat.metrics.choose_threshold`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kd_gat.metrics import binary_metrics, choose_threshold
from kd_gat.models.fusion import BanditDQNConfig, QNetwork, greedy_arms, train_bandit_dqn


def unit_anomaly(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Map raw VGAE anomaly scores to [0, 1]: the share of `reference` (normal) scores below."""
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    return np.searchsorted(ref, scores, side="right") / max(len(ref), 1)


def fused(a: np.ndarray, p: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """(1−α)·anomaly + α·p_attack, α per window or one for all."""
    return (1.0 - alpha) * a + alpha * p


def bandit_rewards(a: np.ndarray, p: np.ndarray, y: np.ndarray, arms: np.ndarray) -> np.ndarray:
    """Reward of each arm per window: 1 − |y − fused score| (1 = a confident right answer)."""
    return 1.0 - np.abs(y[:, None] - fused(a[:, None], p[:, None], arms[None, :]))


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Per-window sampling weights giving both classes the same total weight."""
    counts = np.bincount(y.astype(int), minlength=2).astype(float)
    return 1.0 / np.maximum(counts[y.astype(int)], 1.0)


@dataclass
class FittedFusion:
    """A fitted method: how to score windows, and its validation threshold."""

    name: str
    threshold: float = 0.5
    alpha: float | None = None  # fixed weighted average
    arms: np.ndarray | None = None  # DQN
    q: QNetwork | None = None
    stacker: object | None = None  # logistic regression
    info: dict = field(default_factory=dict)

    def score(self, states: np.ndarray, a: np.ndarray, p: np.ndarray) -> np.ndarray:
        if self.q is not None:
            return fused(a, p, self.arms[greedy_arms(self.q, states)])
        if self.stacker is not None:
            return self.stacker.predict_proba(states)[:, 1]
        return fused(a, p, self.alpha)


def _with_threshold(method: FittedFusion, states, a, p, y) -> FittedFusion:
    method.threshold = choose_threshold(y, method.score(states, a, p))
    return method


def fit_weighted_average(states, a, p, y, arms: np.ndarray) -> FittedFusion:
    """One α for all windows: the grid value whose best-threshold F1 on validation is highest."""
    f1 = []
    for alpha in arms:
        s = fused(a, p, alpha)
        f1.append(binary_metrics(y, s, choose_threshold(y, s))["f1"])
    best = float(arms[int(np.argmax(f1))])
    method = FittedFusion("weighted_average", alpha=best, info={"alpha": best})
    return _with_threshold(method, states, a, p, y)


def fit_stacker(states, a, p, y, seed: int = 0) -> FittedFusion:
    """Logistic regression on the standardised state, class-balanced."""
    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=1000, random_state=seed),
    )
    model.fit(states, y)
    return _with_threshold(FittedFusion("stacker", stacker=model), states, a, p, y)


def fit_dqn(states, a, p, y, arms: np.ndarray, cfg: BanditDQNConfig) -> FittedFusion:
    """Bandit DQN choosing α per window, trained with class-balanced contexts."""
    q, losses = train_bandit_dqn(states, bandit_rewards(a, p, y, arms), cfg, balanced_weights(y))
    chosen = arms[greedy_arms(q, states)]
    info = {"final_loss": float(np.mean(losses[-50:])), "mean_alpha": float(chosen.mean())}
    method = FittedFusion("dqn", arms=arms, q=q, info=info)
    return _with_threshold(method, states, a, p, y)
