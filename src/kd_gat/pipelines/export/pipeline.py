"""Export pipeline: `kedro run --pipelines export` writes the deployed detector's bundle
(`data/06_models/<dataset>/export/`: ONNX models + detector.json; docs/deployment.md)."""

from kedro.pipeline import Node, Pipeline

from .nodes import check_parity, export_models, make_bundle


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                export_models,
                inputs=["inference_models", "graphs_val", "params:inference"],
                outputs="export_onnx_models",
                name="export_onnx",
            ),
            Node(
                check_parity,
                inputs=["export_onnx_models", "inference_models", "graphs_val", "params:export"],
                outputs="export_parity",
                name="check_onnx_parity",
            ),
            Node(
                make_bundle,
                inputs=[
                    "export_onnx_models",
                    "export_parity",
                    "inference_models",
                    "vocabulary",
                    "feature_stats",
                    "graphs_val",
                    "params:graphs",
                    "params:profiles",
                    "vehicle_profiles",
                    "profile_thresholds",
                    "profile_node_thresholds",
                    "zero_shot_thresholds",
                    "params:inference",
                    "params:dataset",
                    "params:scoring",
                ],
                outputs="detector_bundle",
                name="make_detector_bundle",
            ),
        ],
        tags=["export"],
    )
