"""Project hooks: parameter validation before work, per-node pace logging."""

import logging
import re

import numpy as np
import pandas as pd
import pydantic
import pytest

from kd_gat.graphs.builder import build_store
from kd_gat.hooks import NodeProgressHooks, item_count, validate_parameters
from tests.graphs.factory import random_frames


class _Node:
    name = "graphs.build_graph_stores"


def test_bad_parameters_fail_before_any_node_runs() -> None:
    with pytest.raises(pydantic.ValidationError, match="on_invalid"):
        validate_parameters({"ingestion": {"on_invalid": "drop", "attack_kinds": {"dos": "DoS"}}})
    validate_parameters({"ingestion": {"on_invalid": "fail", "attack_kinds": {"dos": "DoS"}}})


def test_item_count_knows_tables_stores_and_mappings() -> None:
    table = random_frames(np.random.default_rng(0), [250, 120])
    store, _ = build_store(table, np.unique(table["can_id"]), 100, 100, "drop", 1)
    assert len(store) == 3
    assert item_count(pd.DataFrame({"a": range(7)})) == 7
    assert item_count(store) == len(store)
    assert item_count({"x": store, "y": store}) == 2 * len(store)
    assert item_count({"report": 1}) is None
    assert item_count(3.5) is None


def test_progress_is_logged_per_node_with_rates(caplog) -> None:
    hooks = NodeProgressHooks()
    hooks.before_node_run(_Node())
    with caplog.at_level(logging.INFO, logger="kd_gat.hooks"):
        hooks.after_node_run(_Node(), {"frames": pd.DataFrame({"a": range(1234)}), "report": {}})
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith("graphs.build_graph_stores took ")
    assert "frames: 1,234 (" in message
    assert "/s)" in message
    assert "report" not in message


def test_a_bad_detector_override_fails_up_front() -> None:
    with pytest.raises(pydantic.ValidationError, match="no detector"):
        validate_parameters({"detector_overrides": {"gat_studnt": {"model": {"hidden": 8}}}})
    with pytest.raises(pydantic.ValidationError, match="lr"):
        validate_parameters({"fusion": {"dqn": {"lr": -1}}})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"trainng": {"max_epochs": 1}}, "unknown parameter 'trainng'; did you mean 'training'"),
        ({"window_size": 0}, "unknown parameter 'window_size'; did you mean 'graphs.window_size'"),
        ({"raw_root": "data", "dataset": ""}, "dataset"),
        ({"raw_root": "data", "dataset": None}, "dataset"),
        ({"raw_root": "data", "dataset": "../x"}, "dataset"),
        ({"raw_root": "data", "dataset": ".."}, "dataset"),
        ({"raw_root": "d", "dataset": "s", "inference_detector": "dqn"}, "not a detector"),
    ],
)
def test_misspelt_or_empty_top_level_parameters_fail_up_front(params, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_parameters(params)
    validate_parameters(
        {"raw_root": "data", "dataset": "set_01", "inference_detector": "gat_teacher"}
    )
