"""Metrics on hand-made predictions, computed by hand."""

import math

import numpy as np
import pytest

from kd_gat.metrics import binary_metrics, choose_threshold, detection_rate_at_fpr


def test_binary_metrics_match_hand_counts() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 0, 1, 0])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.9, 0.7, 0.2, 0.05, 0.6, 0.3])
    m = binary_metrics(labels, scores, threshold=0.5)
    # predictions >= 0.5: idx 3 (FP), 4, 5, 8 (TP); idx 6 is a missed attack (FN)
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (3, 1, 5, 1)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(8 / 10)
    assert m["balanced_accuracy"] == pytest.approx((3 / 4 + 5 / 6) / 2)
    mcc = (3 * 5 - 1 * 1) / math.sqrt((3 + 1) * (3 + 1) * (5 + 1) * (5 + 1))
    assert m["mcc"] == pytest.approx(mcc)
    # AUROC by pair counting: share of (attack, normal) pairs ranked correctly
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = (pos[:, None] > neg[None, :]).mean()
    assert m["auroc"] == pytest.approx(pairs)
    assert (m["n_windows"], m["n_attack_windows"]) == (10, 4)


def test_detection_rate_at_fpr() -> None:
    labels = np.array([0] * 100 + [1] * 10)
    normal = np.linspace(0, 1, 100)
    attack = np.array([2.0] * 5 + [0.5] * 5)  # half above every normal, half in the middle
    scores = np.concatenate([normal, attack])
    assert detection_rate_at_fpr(labels, scores, 0.001) == pytest.approx(0.5)
    assert detection_rate_at_fpr(labels, scores, 0.6) == pytest.approx(1.0)
    assert math.isnan(detection_rate_at_fpr(np.zeros(5), np.arange(5), 0.01))


def test_single_class_metrics_are_nan_not_errors() -> None:
    m = binary_metrics(np.zeros(4), np.array([0.1, 0.2, 0.9, 0.3]), threshold=0.5)
    assert math.isnan(m["auroc"])
    assert math.isnan(m["auprc"])
    assert m["fp"] == 1
    assert m["tn"] == 3


def test_threshold_maximises_f1() -> None:
    labels = np.array([0, 0, 0, 1, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    t = choose_threshold(labels, scores, 0.99)
    best = max((binary_metrics(labels, scores, c)["f1"], c) for c in np.unique(scores))[1]
    assert t == pytest.approx(best)
    assert binary_metrics(labels, scores, t)["f1"] == pytest.approx(
        binary_metrics(labels, scores, best)["f1"]
    )


def test_threshold_without_attacks_is_a_normal_quantile() -> None:
    scores = np.arange(1000, dtype=float)
    assert choose_threshold(np.zeros(1000), scores, normal_quantile=0.99) == pytest.approx(
        np.quantile(scores, 0.99)
    )
