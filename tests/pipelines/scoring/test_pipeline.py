"""Scoring stage: one namespace per detector of the roster, run in-process on the sample's graph
stores with the trained and distilled models."""

from __future__ import annotations

import numpy as np

from kd_gat import roster
from kd_gat.fusion.inputs import GAT_STATE, VGAE_STATE
from kd_gat.pipelines.scoring import create_pipeline

STORES = ["graphs_train", "graphs_val", "graphs_test"]


def test_one_namespace_per_detector_reading_its_model() -> None:
    pipe = create_pipeline()
    assert {n.namespace for n in pipe.nodes} == set(roster.detector_names())
    for detector in roster.DETECTORS:
        nodes = {n.name.rsplit(".", 1)[-1]: n for n in pipe.nodes if n.namespace == detector.name}
        # node names say which model (kedro-viz labels nodes by their last part)
        windows_name, nodes_name = f"score_{detector.name}_windows", f"score_{detector.name}_nodes"
        assert set(nodes) == {windows_name, nodes_name}
        windows, node_scores = nodes[windows_name], nodes[nodes_name]
        assert windows.inputs == [f"{detector.name}.model", *STORES, "params:scoring"]
        assert windows.outputs == [f"{detector.name}.window_outputs"]
        assert node_scores.inputs == [f"{detector.name}.model", *STORES[1:], "params:scoring"]
        assert node_scores.outputs == [f"{detector.name}.node_outputs"]
        for node in nodes.values():
            assert node.func.keywords == {"detector": detector}
    assert pipe.inputs() == {
        *(f"{d}.model" for d in roster.detector_names()),
        *STORES,
        "params:scoring",
    }


def test_every_detector_scores_every_window_of_every_store(scoring_run, graphs_run) -> None:
    stores = {
        ("train", "train"): graphs_run["graphs_train"],
        ("val", "val"): graphs_run["graphs_val"],
    }
    stores |= {("test", s): store for s, store in graphs_run["graphs_test"].items()}
    for detector in roster.DETECTORS:
        table = scoring_run[f"{detector.name}.window_outputs"]
        assert set(table["model"]) == {detector.name}
        assert set(table.groupby(["split", "scenario"]).groups) == set(stores)
        for (split, scenario), store in stores.items():
            part = table[(table["split"] == split) & (table["scenario"] == scenario)]
            assert part["window"].tolist() == list(range(len(store))), (detector.name, scenario)
            assert part["label"].tolist() == store.y.tolist()
        state = GAT_STATE if detector.kind == "gat" else ["vgae_score", *VGAE_STATE]
        assert np.isfinite(table[["score", *state]].to_numpy()).all()
        if detector.kind == "gat":
            assert table["score"].between(0, 1).all()


def test_trained_detectors_score_attacks_higher(scoring_run) -> None:
    """On the sample's validation windows, every detector ranks attack windows above normal
    ones more often than not (trained models, not noise)."""
    for name in roster.detector_names():
        table = scoring_run[f"{name}.window_outputs"]
        val = table[table["split"] == "val"]
        attack, normal = val.loc[val["label"] == 1, "score"], val.loc[val["label"] == 0, "score"]
        pairs = (attack.to_numpy()[:, None] > normal.to_numpy()[None, :]).mean()
        assert pairs > 0.5, (name, pairs)


def test_every_node_of_val_and_test_is_scored(scoring_run, graphs_run) -> None:
    stores = {("val", "val"): graphs_run["graphs_val"]}
    stores |= {("test", s): store for s, store in graphs_run["graphs_test"].items()}
    for detector in roster.DETECTORS:
        table = scoring_run[f"{detector.name}.node_outputs"]
        assert set(table["model"]) == {detector.name}
        for (split, scenario), store in stores.items():
            part = table[(table["split"] == split) & (table["scenario"] == scenario)]
            counts = np.diff(store.node_ptr)
            assert part["window"].tolist() == np.repeat(np.arange(len(store)), counts).tolist()
            # nodes numbered 0.. within each window
            assert (
                part["node"].tolist()
                == (np.arange(counts.sum()) - np.repeat(store.node_ptr[:-1], counts)).tolist()
            )
        assert np.isfinite(table["node_score"]).all()
