"""Graphs pipeline: `frames` (with `capture_matches` and `vehicle_profiles`) → `vocabulary`,
`graphs_train`, `graphs_val`, `graphs_test`, `feature_stats`, `graphs_report`; the profiles'
recordings (`calibration_frames`) → `calibration_graphs` and `distillation_graphs`, and with
attacks injected into them → `injected_graphs`."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_graph_stores,
    build_injected_graphs,
    build_profile_graphs,
    fit_graph_feature_stats,
    learn_vocabulary,
    normalise_graph_stores,
    report_graphs,
)

_RAW = ["graphs_train_raw", "graphs_val_raw", "graphs_test_raw"]
_STORES = ["graphs_train", "graphs_val", "graphs_test"]
# what the windows of the profile recordings are built from, clean and with attacks injected
_RECORDINGS = [
    "calibration_frames",
    "vehicle_profiles",
    "calibration_matches",
    "vocabulary",
    "feature_stats",
    "params:graphs",
    "params:profiles",
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                learn_vocabulary,
                ["frames", "params:dataset"],
                "vocabulary",
                name="learn_vocabulary",
            ),
            Node(
                build_graph_stores,
                ["frames", "vocabulary", "params:graphs", "capture_matches", "vehicle_profiles"],
                [*_RAW, "graphs_build_summary"],
                name="build_graph_stores",
            ),
            Node(
                fit_graph_feature_stats,
                ["graphs_train_raw", "vocabulary", "params:graphs"],
                "feature_stats",
                name="fit_feature_stats",
            ),
            Node(
                normalise_graph_stores,
                [*_RAW, "feature_stats"],
                _STORES,
                name="normalise_graph_stores",
            ),
            Node(
                build_profile_graphs,
                _RECORDINGS,
                ["calibration_graphs", "distillation_graphs"],
                name="build_profile_graphs",
            ),
            Node(
                build_injected_graphs,
                _RECORDINGS,
                "injected_graphs",
                name="build_injected_graphs",
            ),
            Node(
                report_graphs,  # counts only: the raw stores hold the same graphs, in memory
                [*_RAW, "graphs_build_summary"],
                "graphs_report",
                name="report_graphs",
            ),
        ],
        tags=["graphs"],
    )
