"""CAN-ID vocabulary: sorted training IDs, one OOV index, readable JSON form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kd_gat.graphs.vocabulary import (
    fit_vocabulary,
    lookup,
    vocabulary_from_dict,
    vocabulary_to_dict,
)


def test_fit_is_sorted_and_distinct():
    vocabulary = fit_vocabulary(np.array([0x300, 0x100, 0x300, 0x1FFFFFFF, 0x100], np.int32))
    assert vocabulary.tolist() == [0x100, 0x300, 0x1FFFFFFF]
    assert vocabulary.dtype == np.int64


def test_unknown_ids_map_to_the_oov_index():
    vocabulary = np.array([5, 10, 20])
    index = lookup(vocabulary, np.array([10, 4, 5, 21, 20, 15]))
    assert index.tolist() == [1, 3, 0, 3, 2, 3]


def test_empty_vocabulary_maps_everything_to_oov():
    assert lookup(np.zeros(0, np.int64), np.array([1, 2])).tolist() == [0, 0]


def test_json_round_trip():
    vocabulary = np.array([1, 7, 0x7FF])
    data = json.loads(json.dumps(vocabulary_to_dict(vocabulary)))
    assert data == {"can_ids": [1, 7, 0x7FF], "oov_index": 3, "num_ids": 4}
    np.testing.assert_array_equal(vocabulary_from_dict(data), vocabulary)


def test_unsorted_json_is_rejected():
    with pytest.raises(ValueError, match="increasing"):
        vocabulary_from_dict({"can_ids": [3, 1], "oov_index": 2})
