"""Detection metrics and threshold choice, on scikit-learn: one implementation for every model.

A detector gives a score per window (higher = more likely an attack). Its threshold is chosen on
validation windows only and then applied unchanged to every test scenario.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn import metrics as skm

FPR_TARGETS = {"dr_at_fpr_1pct": 0.01, "dr_at_fpr_0_1pct": 0.001}


def choose_threshold(labels: np.ndarray, scores: np.ndarray, normal_quantile: float) -> float:
    """Threshold maximising F1 on (validation) windows.

    With no attack window to learn from (e.g. an attack-free validation set), the threshold is
    the `normal_quantile` of the scores instead, which bounds the false-positive rate.
    """
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.min(initial=0) == labels.max(initial=0):
        return float(np.quantile(scores, normal_quantile)) if scores.size else 0.5
    precision, recall, thresholds = skm.precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def detection_rate_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr: float) -> float:
    """Highest true-positive rate with a false-positive rate at most `fpr` (NaN: one class)."""
    if len(np.unique(labels)) < 2:
        return math.nan
    fprs, tprs, _ = skm.roc_curve(labels, scores)
    return float(tprs[fprs <= fpr].max(initial=0.0))


def median_finite(threshold: float | np.ndarray) -> float:
    """The median of the finite thresholds (+inf: a window that may raise no alarm); NaN when
    none is finite."""
    finite = np.asarray(threshold, dtype=np.float64).ravel()
    finite = finite[np.isfinite(finite)]
    return float(np.median(finite)) if len(finite) else math.nan


def binary_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float | np.ndarray
) -> dict[str, float]:
    """Every metric of one detector on one set of windows; decisions are `score >= threshold`
    (one threshold, or one per window; `threshold` reports the median of the finite ones: +inf
    is a window that may raise no alarm, `kd_gat.operating_points`)."""
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    pred = (scores >= threshold).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(labels, pred, labels=[0, 1]).ravel()
    both = len(np.unique(labels)) == 2
    out = {
        "accuracy": skm.accuracy_score(labels, pred),
        "precision": skm.precision_score(labels, pred, zero_division=0),
        "recall": skm.recall_score(labels, pred, zero_division=0),
        "f1": skm.f1_score(labels, pred, zero_division=0),
        "mcc": skm.matthews_corrcoef(labels, pred) if len(labels) else math.nan,
        "balanced_accuracy": skm.balanced_accuracy_score(labels, pred) if both else math.nan,
        "auroc": skm.roc_auc_score(labels, scores) if both else math.nan,
        "auprc": skm.average_precision_score(labels, scores) if both else math.nan,
        **{k: detection_rate_at_fpr(labels, scores, v) for k, v in FPR_TARGETS.items()},
        "threshold": median_finite(threshold),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "n_windows": len(labels),
        "n_attack_windows": int(labels.sum()),
    }
    return {k: float(v) for k, v in out.items()}
