"""Inference pipeline: `kedro run --pipelines inference --params input_root=<folder>`.

What it deploys is globals.yml `inference.detector` (or `--params inference_detector=...`): a
detector, or a fusion pair's alarm-level OR (`fusion_student.alarm_or`: its VGAE and GAT, each at
half the car's false-alarm budget); the catalog's `inference_models` loads their model files, at
the thresholds the calibration stage set: per vehicle profile, zero-shot elsewhere.
"""

from kedro.pipeline import Node, Pipeline

from kd_gat.pipelines.profiles.nodes import match_to_profiles

from .nodes import (
    build_inference_graphs,
    ingest_new_captures,
    merge_alarms,
    report_inference,
    score_new_windows,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                ingest_new_captures,
                inputs=["inference_captures", "params:ingestion"],
                outputs=["inference_frames", "inference_rejected_frames", "inference_ingestion"],
                name="ingest_new_captures",
            ),
            Node(
                match_to_profiles,
                inputs=["inference_frames", "vehicle_profiles", "params:profiles"],
                outputs="inference_matches",
                name="match_new_captures",
            ),
            Node(
                build_inference_graphs,
                inputs=[
                    "inference_frames",
                    "vocabulary",
                    "feature_stats",
                    "params:graphs",
                    "inference_matches",
                    "vehicle_profiles",
                ],
                outputs="inference_graphs",
                name="build_inference_graphs",
            ),
            Node(
                score_new_windows,
                inputs=[
                    "inference_graphs",
                    "inference_models",
                    "inference_frames",
                    "inference_matches",
                    "profile_thresholds",
                    "profile_node_thresholds",
                    "zero_shot_thresholds",
                    "params:inference",
                    "params:scoring",
                    "params:profiles",
                ],
                outputs=["inference_scores", "inference_implicated"],
                name="score_new_windows",
            ),
            Node(
                merge_alarms,
                inputs=["inference_scores", "inference_implicated", "params:inference"],
                outputs="inference_alarms",
                name="merge_alarms",
            ),
            Node(
                report_inference,
                inputs=[
                    "inference_ingestion",
                    "inference_scores",
                    "inference_alarms",
                    "params:graphs",
                    "params:inference",
                    "inference_models",
                ],
                outputs="inference_report",
                name="report_inference",
            ),
        ],
        tags=["inference"],
    )
