"""`score_windows` on real graph stores (built by the graphs stage from hand-made frames) with
untrained detectors: every window of every store once, the bound detector's name, the model's
own outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from kd_gat import roster
from kd_gat.fusion.inputs import GAT_STATE, VGAE_STATE
from kd_gat.persistence import follows
from kd_gat.pipelines.scoring import create_pipeline
from kd_gat.pipelines.scoring.nodes import FRONT, score_windows
from kd_gat.roster import Detector
from tests.pipelines.factory import untrained

PARAMS = {"batch_size": 7}  # not a divisor of any store size: batches end mid-store


def stores_of(graphs) -> dict[tuple[str, str], object]:
    return {
        ("train", "train"): graphs["graphs_train"],
        ("val", "val"): graphs["graphs_val"],
        **{("test", s): store for s, store in graphs["graphs_test"].items()},
    }


def score(model, graphs, detector: Detector, params=PARAMS):
    return score_windows(
        model,
        graphs["graphs_train"],
        graphs["graphs_val"],
        graphs["graphs_test"],
        params,
        detector=detector,
    )


@pytest.mark.parametrize("kind", ["gat", "vgae"])
def test_every_window_of_every_store_is_scored_once(kind, small_graphs) -> None:
    model = untrained(kind, small_graphs["graphs_train"])
    table = score(model, small_graphs, Detector(f"my_{kind}", kind, "small"))
    assert list(table.columns[: len(FRONT)]) == FRONT
    assert set(table["model"]) == {f"my_{kind}"}
    stores = stores_of(small_graphs)
    assert set(table.groupby(["split", "scenario"]).groups) == set(stores)
    assert len(table) == sum(len(s) for s in stores.values())
    for (split, scenario), store in stores.items():
        part = table[(table["split"] == split) & (table["scenario"] == scenario)]
        assert part["window"].tolist() == list(range(len(store)))
        assert part["label"].tolist() == store.y.tolist()


def test_gat_score_is_its_attack_probability_on_that_store(small_graphs) -> None:
    model = untrained("gat", small_graphs["graphs_train"])
    table = score(model, small_graphs, Detector("g", "gat", "small"))
    assert set(GAT_STATE) <= set(table.columns)
    np.testing.assert_array_equal(table["score"], table["gat_p"])
    for (split, scenario), store in stores_of(small_graphs).items():
        part = table[(table["split"] == split) & (table["scenario"] == scenario)]
        with torch.no_grad():
            p = model(store.batch(np.arange(len(store)))).softmax(-1)[:, 1].numpy()
        np.testing.assert_allclose(part["score"], p, rtol=1e-5, atol=1e-6)


def test_vgae_score_is_its_anomaly_score_persisted_over_windows_in_a_row(small_graphs) -> None:
    """`raw_score` is the VGAE's anomaly score; `score` the lowest over each window and the
    `scoring.persistence` - 1 windows right before it in its capture (`kd_gat.persistence`)."""
    model = untrained("vgae", small_graphs["graphs_train"])
    params = PARAMS | {"persistence": {"vgae": 2}}
    table = score(model, small_graphs, Detector("v", "vgae", "small"), params)
    assert set(VGAE_STATE) <= set(table.columns)
    assert np.isfinite(table[VGAE_STATE].to_numpy()).all()
    lowered = 0
    for (split, scenario), store in stores_of(small_graphs).items():
        part = table[(table["split"] == split) & (table["scenario"] == scenario)]
        with torch.no_grad():
            expected = model.anomaly_score(store.batch(np.arange(len(store)))).numpy()
        np.testing.assert_allclose(part["raw_score"], expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(part["raw_score"], part["vgae_score"])
        raw = part["raw_score"].to_numpy()
        run = follows(store.windows)
        previous = np.r_[np.inf, raw[:-1]]
        np.testing.assert_array_equal(part["score"], np.where(run, np.minimum(raw, previous), raw))
        lowered += int((part["score"].to_numpy() < raw).sum())
    assert lowered > 0  # some window scored above its predecessor and took its score
    plain = score(model, small_graphs, Detector("v", "vgae", "small"), PARAMS | {"persistence": {}})
    np.testing.assert_array_equal(plain["score"], plain["raw_score"])


def test_every_namespace_is_bound_to_its_own_detector(small_graphs) -> None:
    """The node of namespace `<name>` writes `model == <name>` (no late binding in the loop
    that generates the namespaces)."""
    models = {kind: untrained(kind, small_graphs["graphs_train"]) for kind in ("gat", "vgae")}
    nodes = {n.namespace: n for n in create_pipeline().nodes}
    assert set(nodes) == set(roster.detector_names())
    for detector in roster.DETECTORS:
        node = nodes[detector.name]
        assert node.inputs[0] == f"{detector.name}.model"
        assert node.outputs == [f"{detector.name}.window_outputs"]
        table = node.func(
            models[detector.kind],
            small_graphs["graphs_train"],
            small_graphs["graphs_val"],
            small_graphs["graphs_test"],
            PARAMS,
        )
        assert set(table["model"]) == {detector.name}


def test_batch_size_does_not_change_the_scores(small_graphs) -> None:
    model = untrained("vgae", small_graphs["graphs_train"])
    detector = Detector("v", "vgae", "small")
    one = score(model, small_graphs, detector, {"batch_size": 1})
    many = score(model, small_graphs, detector, {"batch_size": 64})
    np.testing.assert_allclose(one["score"], many["score"], rtol=1e-4, atol=1e-6)


def test_bad_scoring_parameters_are_refused(small_graphs) -> None:
    model = untrained("gat", small_graphs["graphs_train"])
    for bad in ({"batch_size": 0}, {"batch_size": 8, "typo": 1}):
        with pytest.raises(ValidationError):
            score(model, small_graphs, Detector("g", "gat", "small"), bad)
