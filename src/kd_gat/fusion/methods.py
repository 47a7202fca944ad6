"""Fusion methods on per-window detector outputs; each yields a fused score per window.

Every method is fitted on validation windows and applied unchanged to test windows; its decision
threshold is chosen on the same validation windows (`kd_gat.metrics.choose_threshold`). All
methods see the same state (`FusionState`): standardised detector outputs plus the VGAE score
mapped to [0, 1] by the empirical CDF of normal training windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from kd_gat.balance import sample_weights
from kd_gat.fusion.dqn import train_bandit_dqn
from kd_gat.fusion.inputs import FusionInputs
from kd_gat.fusion.policy import FusionPolicy, fuse
from kd_gat.metrics import binary_metrics, choose_threshold
from kd_gat.params.fusion import DQNParams


def bandit_rewards(a: np.ndarray, p: np.ndarray, y: np.ndarray, arms: np.ndarray) -> np.ndarray:
    """Reward of each arm per window: 1 − |y − fused score| (1 = a confident right answer)."""
    return 1.0 - np.abs(y[:, None] - fuse(a[:, None], p[:, None], arms[None, :]))


@dataclass
class FittedFusion:
    """A fitted method around the shared `policy.state`; `threshold` chosen on validation."""

    policy: FusionPolicy
    kind: str  # dqn | weighted_average | stacker
    alpha: float = 0.5
    stacker: LogisticRegression | None = None
    threshold: float = 0.5
    info: dict = field(default_factory=dict)

    def score(self, inputs: FusionInputs) -> np.ndarray:
        raw, vgae_score, gat_p = inputs.tensors()
        if self.kind == "dqn":
            return self.policy(raw, vgae_score, gat_p)[0].numpy()
        state, a = self.policy.state(raw, vgae_score)
        if self.kind == "stacker":
            return self.stacker.predict_proba(state.numpy())[:, 1]
        return fuse(a.numpy(), inputs.gat_p, self.alpha)


def fit_fusion_methods(
    val: FusionInputs,
    reference: np.ndarray,
    state_columns: list[str],
    num_arms: int,
    cfg: DQNParams,
    normal_quantile: float,
) -> dict[str, FittedFusion]:
    """Fit the DQN agent, the fixed weighted average and the logistic stacker on `val`.

    Thresholds maximise validation F1 (`normal_quantile` of the scores without attacks).
    """

    def threshold(scores: np.ndarray) -> float:
        return choose_threshold(y, scores, normal_quantile)

    # the Q-network's initial weights come from `cfg.seed` too, not from whatever the global
    # RNG holds after earlier work (a full run and `--pipelines fusion` fit the same agent)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        policy = FusionPolicy(state_columns, len(reference), num_arms, cfg.hidden)
    policy.state.fit(reference, val.raw)
    raw, vgae_score, _ = val.tensors()
    state, a_t = policy.state(raw, vgae_score)
    state, a, arms, y = state.numpy(), a_t.numpy(), policy.arms.numpy(), val.y

    # DQN: α per window from the state, class-balanced contexts
    rewards = bandit_rewards(a, val.gat_p, y, arms)
    _, losses = train_bandit_dqn(state, rewards, cfg, sample_weights(y), q=policy.q)
    policy.q.eval()
    methods = {"dqn": FittedFusion(policy, "dqn")}

    # fixed weighted average: the α whose best-threshold validation F1 is highest
    f1 = [
        binary_metrics(y, fuse(a, val.gat_p, w), threshold(fuse(a, val.gat_p, w)))["f1"]
        for w in arms
    ]
    alpha = float(arms[int(np.argmax(f1))])
    methods["weighted_average"] = FittedFusion(
        policy, "weighted_average", alpha=alpha, info={"alpha": alpha}
    )

    # logistic-regression stacker on the same state
    stacker = LogisticRegression(class_weight="balanced", max_iter=1000, random_state=cfg.seed)
    stacker.fit(state, y)
    methods["stacker"] = FittedFusion(
        policy,
        "stacker",
        stacker=stacker,
        # everything that rebuilds it on the policy's state (saved in the fusion summary)
        info={
            "state": list(state_columns),
            "coef": stacker.coef_[0].tolist(),
            "intercept": float(stacker.intercept_[0]),
        },
    )

    for method in methods.values():
        method.threshold = threshold(method.score(val))
    policy.threshold.fill_(methods["dqn"].threshold)
    chosen = policy(raw, vgae_score, torch.as_tensor(val.gat_p, dtype=torch.float32))[1]
    methods["dqn"].info = {
        "final_loss": float(np.mean(losses[-50:])),
        "mean_alpha_val": float(chosen.mean()),
    }
    return methods
