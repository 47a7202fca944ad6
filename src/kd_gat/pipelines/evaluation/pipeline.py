"""Evaluation pipeline: every detector and fusion method of the roster on every test scenario, at
the validation and the vehicle-profile operating points."""

from kedro.pipeline import Node, Pipeline

from kd_gat import roster

from .nodes import (
    apply_operating_points,
    choose_deployment,
    collect_window_scores,
    derive_attack_events,
    evaluate,
    evaluate_field_metrics,
    localise_frames,
    model_sizes,
)


def create_pipeline(**kwargs) -> Pipeline:
    detectors, fusions = roster.detector_names(), roster.fusion_names()
    return Pipeline(
        [
            Node(
                collect_window_scores,
                inputs={
                    "zero_shot_thresholds": "zero_shot_thresholds",
                    **{d: f"{d}.window_outputs" for d in detectors},
                    **{f: f"{f}.window_scores" for f in fusions},
                },
                outputs="validation_window_scores",
                name="collect_window_scores",
            ),
            Node(
                apply_operating_points,
                inputs={
                    "window_scores": "validation_window_scores",
                    "graphs_test": "graphs_test",
                    "capture_matches": "capture_matches",
                    "profile_thresholds": "profile_thresholds",
                    "profiles_params": "params:profiles",
                },
                outputs="window_scores",
                name="apply_operating_points",
            ),
            Node(evaluate, inputs="window_scores", outputs="metrics", name="evaluate"),
            Node(
                derive_attack_events,
                inputs={"frames": "frames", "params": "params:evaluation"},
                outputs="attack_events",
                name="derive_attack_events",
            ),
            Node(
                localise_frames,
                inputs={
                    "window_scores": "window_scores",
                    "frames": "frames",
                    "graphs_test": "graphs_test",
                    "profile_node_thresholds": "profile_node_thresholds",
                    "zero_shot_thresholds": "zero_shot_thresholds",
                    **{d: f"{d}.node_outputs" for d in detectors},
                },
                outputs="localised_frame_counts",
                name="localise_frames",
            ),
            Node(
                evaluate_field_metrics,
                inputs={
                    "window_scores": "window_scores",
                    "graphs_test": "graphs_test",
                    "attack_events": "attack_events",
                    "localised_frame_counts": "localised_frame_counts",
                    "params": "params:evaluation",
                },
                outputs=["field_metrics", "field_metrics_by_capture"],
                name="evaluate_field_metrics",
            ),
            Node(
                choose_deployment,
                inputs={
                    "zero_shot_thresholds": "zero_shot_thresholds",
                    "model_sizes": "model_sizes",
                    "injected_detection": "injected_detection",
                    "params": "params:evaluation",
                    **{d: f"{d}.window_outputs" for d in detectors},
                },
                outputs="deployment_choice",
                name="choose_deployment",
            ),
            Node(
                model_sizes,
                inputs={
                    "graphs_val": "graphs_val",
                    "params": "params:evaluation",
                    **{d: f"{d}.model" for d in detectors},
                },
                outputs="model_sizes",
                name="model_sizes",
            ),
        ],
        tags=["evaluation"],
    )
