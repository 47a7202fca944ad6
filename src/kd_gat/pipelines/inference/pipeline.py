"""Inference pipeline: `kedro run --pipeline inference --params input_root=<folder>`.

The models it uses are catalog entries (`inference_vgae`, `inference_gat`, `inference_fusion`)
whose files are chosen in globals.yml or with `--params inference_fusion=fusion_teacher`, ...
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_inference_graphs,
    ingest_new_captures,
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
                build_inference_graphs,
                inputs=["inference_frames", "vocabulary", "feature_stats", "params:graphs"],
                outputs="inference_graphs",
                name="build_inference_graphs",
            ),
            Node(
                score_new_windows,
                inputs=[
                    "inference_graphs",
                    "inference_vgae",
                    "inference_gat",
                    "inference_fusion",
                    "params:scoring",
                ],
                outputs="inference_scores",
                name="score_new_windows",
            ),
            Node(
                report_inference,
                inputs=["inference_ingestion", "inference_scores", "params:graphs"],
                outputs="inference_report",
                name="report_inference",
            ),
        ],
        tags=["inference"],
    )
