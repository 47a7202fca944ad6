"""Profiles pipeline: `calibration_captures` (attack-free recordings, one folder per car) →
`vehicle_profiles` (with the training car's, from its attack-free captures held out from
training), `calibration_graphs`, per detector `<name>.profile_outputs`, the thresholds
(`profile_thresholds`, `calibrated_profiles`), node thresholds for localisation
(`profile_node_thresholds`, from `<name>.profile_node_outputs`) and `capture_matches` for the
run's captures."""

from kedro.pipeline import Node, Pipeline

from kd_gat import roster
from kd_gat.pipelines.templates import bind

from .nodes import (
    build_calibration_graphs,
    build_vehicle_profiles,
    calibrate_detectors,
    calibrate_nodes,
    held_out_recordings,
    ingest_calibration,
    match_run_captures,
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
                held_out_recordings,
                inputs=["frames", "params:graphs"],
                outputs="held_out_recordings",
                name="held_out_recordings",
            ),
            Node(
                ingest_calibration,
                inputs=[
                    "calibration_captures",
                    "ingestion_report",
                    "held_out_recordings",
                    "params:ingestion",
                ],
                outputs=["calibration_frames", "calibration_rejected_frames", "calibration_report"],
                name="ingest_calibration",
            ),
            Node(
                build_vehicle_profiles,
                inputs=["calibration_frames", "calibration_report", "params:profiles"],
                outputs="vehicle_profiles",
                name="build_vehicle_profiles",
            ),
            Node(
                build_calibration_graphs,
                inputs=[
                    "calibration_frames",
                    "vehicle_profiles",
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
            Node(
                match_run_captures,
                inputs=["frames", "vehicle_profiles", "params:profiles"],
                outputs="capture_matches",
                name="match_run_captures",
            ),
        ]
    )
    return shared + sum((_scoring(d) for d in roster.DETECTORS), Pipeline([]))
