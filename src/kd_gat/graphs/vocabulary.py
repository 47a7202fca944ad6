"""CAN-ID vocabulary: the sorted IDs of the training captures plus one out-of-vocabulary index.

Learnt from training frames only, so an ID first seen at test time maps to the OOV index instead
of leaking test information into the embedding table.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def fit_vocabulary(can_ids: np.ndarray) -> np.ndarray:
    """Sorted distinct CAN IDs (int64)."""
    return np.unique(np.asarray(can_ids)).astype(np.int64)


def lookup(vocabulary: np.ndarray, can_ids: np.ndarray) -> np.ndarray:
    """Vocabulary index of each ID (int64); an unknown ID gets `len(vocabulary)` (the OOV index)."""
    can_ids = np.asarray(can_ids, dtype=np.int64)
    if len(vocabulary) == 0:
        return np.zeros(can_ids.shape, dtype=np.int64)
    index = np.searchsorted(vocabulary, can_ids)
    found = vocabulary[np.minimum(index, len(vocabulary) - 1)] == can_ids
    return np.where(found, index, len(vocabulary))


def vocabulary_to_dict(vocabulary: np.ndarray) -> dict[str, Any]:
    """JSON-able form: the ID list, the OOV index and the embedding size (`num_ids`)."""
    return {
        "can_ids": [int(i) for i in vocabulary],
        "oov_index": len(vocabulary),
        "num_ids": len(vocabulary) + 1,
    }


def vocabulary_from_dict(data: dict[str, Any]) -> np.ndarray:
    """Inverse of `vocabulary_to_dict`; rejects an unsorted or duplicated ID list."""
    vocabulary = np.asarray(data["can_ids"], dtype=np.int64)
    if np.any(np.diff(vocabulary) <= 0):
        raise ValueError("vocabulary can_ids must be strictly increasing")
    if data.get("oov_index", len(vocabulary)) != len(vocabulary):
        raise ValueError("vocabulary oov_index must equal the number of IDs")
    return vocabulary
