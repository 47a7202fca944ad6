"""Calibration pipeline: the profile recordings (`calibration_frames`, `calibration_matches`) →
`calibration_graphs`, per detector `<name>.profile_outputs` and `<name>.profile_node_outputs`,
the thresholds per car (`profile_thresholds`, `calibrated_profiles`) and the node thresholds for
localisation (`profile_node_thresholds`)."""

from kedro.pipeline import Node, Pipeline

from kd_gat import roster
from kd_gat.pipelines.templates import bind

from .nodes import (
    build_calibration_graphs,
    calibrate_detectors,
    calibrate_nodes,
    score_profile_nodes,
    score_profiles,
)


def _scoring(detector: roster.Detector) -> Pipeline:
    return Pipeline(
        [
            Node(
                bind(score_profiles, detector=detector),
                inputs=["model", "calibration_graphs", "params:scoring", "params:profiles"],
                outputs="profile_outputs",
                name="score_profiles",
            ),
            Node(
                bind(score_profile_nodes, detector=detector),
                inputs=["model", "calibration_graphs", "params:scoring", "params:profiles"],
                outputs="profile_node_outputs",
                name="score_profile_nodes",
            ),
        ],
        namespace=detector.name,
        inputs={"calibration_graphs"},
        parameters={"params:scoring", "params:profiles"},
        tags=[detector.name],
    )


def create_pipeline(**kwargs) -> Pipeline:
    detectors = roster.detector_names()
    shared = Pipeline(
        [
            Node(
                build_calibration_graphs,
                inputs=[
                    "calibration_frames",
                    "vehicle_profiles",
                    "calibration_matches",
                    "vocabulary",
                    "feature_stats",
                    "params:graphs",
                ],
                outputs="calibration_graphs",
                name="build_calibration_graphs",
            ),
            Node(
                calibrate_detectors,
                inputs={
                    "profiles": "vehicle_profiles",
                    "params": "params:profiles",
                    **{d: f"{d}.profile_outputs" for d in detectors},
                },
                outputs=["profile_thresholds", "calibrated_profiles"],
                name="calibrate_detectors",
            ),
            Node(
                calibrate_nodes,
                inputs={
                    "params": "params:evaluation",
                    **{d: f"{d}.profile_node_outputs" for d in detectors},
                },
                outputs="profile_node_thresholds",
                name="calibrate_nodes",
            ),
        ]
    )
    return shared + sum((_scoring(d) for d in roster.DETECTORS), Pipeline([]))
