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
        (node,) = [n for n in pipe.nodes if n.namespace == detector.name]
        assert node.inputs == [f"{detector.name}.model", *STORES, "params:scoring"]
        assert node.outputs == [f"{detector.name}.window_outputs"]
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
