"""Class balance: one definition of the weights that make both classes count the same.

Used by the class-weighted cross-entropy, the class-balanced training sampler and the
class-balanced contexts of the fusion agent.
"""

from __future__ import annotations

import numpy as np


def class_weights(labels: np.ndarray, num_classes: int = 2) -> np.ndarray:
    """Balanced weights n / (k · n_c) per class (scikit-learn's "balanced"); 0 for a class
    absent from `labels` (where scikit-learn raises)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)
    return np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 0.0)


def sample_weights(labels: np.ndarray) -> np.ndarray:
    """Per-sample weights giving each class present the same total weight."""
    labels = np.asarray(labels, dtype=np.int64)
    return class_weights(labels)[labels]
