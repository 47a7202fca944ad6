"""Bandit DQN and fusion baselines."""

import numpy as np
import pytest

from kd_gat.fusion.methods import (
    balanced_weights,
    bandit_rewards,
    fit_dqn,
    fit_stacker,
    fit_weighted_average,
    fused,
    unit_anomaly,
)
from kd_gat.metrics import choose_threshold
from kd_gat.models.fusion import BanditDQNConfig, epsilon_at, greedy_arms, train_bandit_dqn

FAST = BanditDQNConfig(steps=600, batch_size=64, epsilon_decay_steps=400, lr=3e-3)


def test_dqn_finds_the_known_best_arm_per_context() -> None:
    rng = np.random.default_rng(0)
    n, arms = 2000, 5
    cluster = rng.integers(0, 2, n)
    states = np.c_[cluster * 2.0 - 1.0 + rng.normal(0, 0.1, n), rng.normal(0, 1, n)]
    best = np.where(cluster == 0, 1, 3)
    rewards = rng.normal(0, 0.05, (n, arms))
    rewards[np.arange(n), best] += 1.0  # the best arm pays 1, the others 0 (plus noise)
    q, losses = train_bandit_dqn(states, rewards, FAST)
    chosen = greedy_arms(q, states)
    assert (chosen == best).mean() > 0.95
    assert np.mean(losses[-50:]) < np.mean(losses[:50])


def test_epsilon_decays_linearly_to_its_floor() -> None:
    cfg = BanditDQNConfig(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_steps=100)
    assert epsilon_at(0, cfg) == pytest.approx(1.0)
    assert epsilon_at(50, cfg) == pytest.approx(0.55)
    assert epsilon_at(500, cfg) == pytest.approx(0.1)


def test_rewards_and_fused_score() -> None:
    a, p, y = np.array([0.2, 0.9]), np.array([0.8, 0.1]), np.array([1, 0])
    arms = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(fused(a, p, 0.25), 0.75 * a + 0.25 * p)
    r = bandit_rewards(a, p, y, arms)
    np.testing.assert_allclose(r, [[0.2, 0.5, 0.8], [0.1, 0.5, 0.9]])


def test_balanced_weights_equalise_classes() -> None:
    y = np.array([0, 0, 0, 1])
    w = balanced_weights(y)
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum())


def test_unit_anomaly_is_the_reference_ecdf() -> None:
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(unit_anomaly(np.array([0.5, 2.0, 10.0]), ref), [0, 0.5, 1.0])


def _two_detectors(seed: int, n: int = 600):
    """Windows where the GAT is right on one kind of context and the VGAE on the other."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    ctx = rng.integers(0, 2, n)
    good_p = np.clip(y + rng.normal(0, 0.15, n), 0, 1)
    bad = rng.uniform(0, 1, n)
    p = np.where(ctx == 0, good_p, bad)
    a = np.where(ctx == 1, np.clip(y + rng.normal(0, 0.15, n), 0, 1), rng.uniform(0, 1, n))
    states = np.c_[ctx, p, a]
    return states, a, p, y


def test_dqn_fusion_learns_which_detector_to_trust() -> None:
    states, a, p, y = _two_detectors(1)
    arms = np.linspace(0, 1, 5)
    method = fit_dqn(states, a, p, y, arms, FAST)
    alpha = arms[greedy_arms(method.q, states)]
    assert alpha[states[:, 0] == 0].mean() > 0.7  # trust the GAT where it is right
    assert alpha[states[:, 0] == 1].mean() < 0.3  # and the VGAE elsewhere
    ts, ta, tp, ty = _two_detectors(2)
    acc = ((method.score(ts, ta, tp) >= method.threshold) == ty).mean()
    best_single = max(((ta >= 0.5) == ty).mean(), ((tp >= 0.5) == ty).mean())
    assert acc > best_single + 0.1


def test_each_method_keeps_exactly_its_validation_threshold() -> None:
    states, a, p, y = _two_detectors(3)
    arms = np.linspace(0, 1, 5)
    for method in (
        fit_weighted_average(states, a, p, y, arms),
        fit_stacker(states, a, p, y),
        fit_dqn(states, a, p, y, arms, FAST),
    ):
        assert method.threshold == choose_threshold(y, method.score(states, a, p))
