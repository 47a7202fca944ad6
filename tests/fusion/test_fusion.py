"""Bandit DQN and fusion baselines."""

import numpy as np
import pytest
import torch

from kd_gat.balance import sample_weights
from kd_gat.fusion.dqn import epsilon_at, greedy_arms, train_bandit_dqn
from kd_gat.fusion.inputs import FusionInputs
from kd_gat.fusion.methods import bandit_rewards, fit_fusion_methods
from kd_gat.fusion.policy import FusionPolicy, FusionState, fuse
from kd_gat.metrics import choose_threshold
from kd_gat.models.model_file import load_model, save_model
from kd_gat.params.fusion import DQNParams

FAST = DQNParams(steps=600, batch_size=64, epsilon_decay_steps=400, lr=3e-3)
Q = 0.99  # normal_quantile


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
    cfg = DQNParams(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_steps=100)
    assert epsilon_at(0, cfg) == pytest.approx(1.0)
    assert epsilon_at(50, cfg) == pytest.approx(0.55)
    assert epsilon_at(500, cfg) == pytest.approx(0.1)


def test_rewards_and_fused_score() -> None:
    a, p, y = np.array([0.2, 0.9]), np.array([0.8, 0.1]), np.array([1, 0])
    arms = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(fuse(a, p, 0.25), 0.75 * a + 0.25 * p)
    r = bandit_rewards(a, p, y, arms)
    np.testing.assert_allclose(r, [[0.2, 0.5, 0.8], [0.1, 0.5, 0.9]])


def test_balanced_weights_equalise_classes() -> None:
    y = np.array([0, 0, 0, 1])
    w = sample_weights(y)
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum())


def test_dqn_settings_are_bounded() -> None:
    with pytest.raises(ValueError, match="lr"):
        DQNParams(lr=-1)
    with pytest.raises(ValueError, match="steps"):
        DQNParams(steps=0)
    with pytest.raises(ValueError, match="buffer_size"):
        DQNParams(buffer_size=10, batch_size=64)


def test_state_maps_vgae_score_to_the_reference_ecdf() -> None:
    state = FusionState(2, 4).fit(
        np.array([3.0, 1.0, 4.0, 2.0]), np.array([[0.0, 1.0], [2.0, 3.0]])
    )
    raw = torch.tensor([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])
    s, a = state(raw, torch.tensor([0.5, 2.0, 10.0]))
    np.testing.assert_allclose(a.numpy(), [0, 0.5, 1.0])
    np.testing.assert_allclose(s[0, :2].numpy(), [0.0, 0.0])  # (raw - mean) / std
    assert s.shape == (3, 3)


def _two_detectors(seed: int, n: int = 600) -> FusionInputs:
    """Windows where the GAT is right in one context and the VGAE in the other.

    The VGAE score is in [0, 1] and the reference is uniform on [0, 1], so its ECDF is the
    score itself.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    ctx = rng.integers(0, 2, n)
    p = np.where(ctx == 0, np.clip(y + rng.normal(0, 0.15, n), 0, 1), rng.uniform(0, 1, n))
    a = np.where(ctx == 1, np.clip(y + rng.normal(0, 0.15, n), 0, 1), rng.uniform(0, 1, n))
    return FusionInputs(raw=np.c_[ctx, p], vgae_score=a, gat_p=p, y=y)


REFERENCE = np.linspace(0, 1, 1001)


def test_dqn_fusion_learns_which_detector_to_trust() -> None:
    val = _two_detectors(1)
    methods = fit_fusion_methods(val, REFERENCE, ["ctx", "p"], 5, FAST, Q)
    policy = methods["dqn"].policy
    raw, vgae, p = val.tensors()
    alpha = policy(raw, vgae, p)[1].numpy()
    ctx = val.raw[:, 0]
    assert alpha[ctx == 0].mean() > 0.7  # trust the GAT where it is right
    assert alpha[ctx == 1].mean() < 0.3  # and the VGAE elsewhere
    test = _two_detectors(2)
    acc = ((methods["dqn"].score(test) >= methods["dqn"].threshold) == test.y).mean()
    best_single = max(
        ((test.vgae_score >= 0.5) == test.y).mean(), ((test.gat_p >= 0.5) == test.y).mean()
    )
    assert acc > best_single + 0.1


def test_each_method_keeps_exactly_its_validation_threshold() -> None:
    val = _two_detectors(3)
    methods = fit_fusion_methods(val, REFERENCE, ["ctx", "p"], 5, FAST, Q)
    assert set(methods) == {"dqn", "weighted_average", "stacker"}
    for method in methods.values():
        assert method.threshold == choose_threshold(val.y, method.score(val), Q)
    assert float(methods["dqn"].policy.threshold) == pytest.approx(methods["dqn"].threshold)


def test_every_method_is_saved_in_what_it_reports() -> None:
    """The weighted average by its alpha, the stacker by its coefficients on the policy's state
    (the DQN is the saved policy): rebuilt from the summary, each scores as fitted."""
    val = _two_detectors(4)
    methods = fit_fusion_methods(val, REFERENCE, ["ctx", "p"], 5, FAST, Q)
    raw, vgae, _ = val.tensors()
    state, a = methods["dqn"].policy.state(raw, vgae)
    info = methods["stacker"].info
    logit = state.numpy() @ np.asarray(info["coef"]) + info["intercept"]
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), methods["stacker"].score(val), atol=1e-6)
    alpha = methods["weighted_average"].info["alpha"]
    np.testing.assert_allclose(
        fuse(a.numpy(), val.gat_p, alpha), methods["weighted_average"].score(val)
    )


def test_fusion_policy_round_trips_through_a_weights_only_file(tmp_path) -> None:
    val = _two_detectors(4)
    policy = fit_fusion_methods(val, REFERENCE, ["ctx", "p"], 5, FAST, Q)["dqn"].policy
    save_model(policy, tmp_path / "fusion.pt")
    loaded = load_model(tmp_path / "fusion.pt")
    assert isinstance(loaded, FusionPolicy)
    for a, b in zip(policy(*val.tensors()), loaded(*val.tensors()), strict=True):
        torch.testing.assert_close(a, b)
    assert float(loaded.threshold) == float(policy.threshold)
