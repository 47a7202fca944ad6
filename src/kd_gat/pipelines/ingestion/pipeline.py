"""Ingestion pipeline: `raw_captures` → `frames`, `rejected_frames`, `ingestion_report`."""

from kedro.pipeline import Node, Pipeline

from .nodes import ingest_captures


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                ingest_captures,
                inputs=["raw_captures", "params:ingestion", "params:raw_root", "params:dataset"],
                outputs=["frames", "rejected_frames", "ingestion_report"],
                name="ingest_captures",
                tags=["ingestion"],
            )
        ]
    )
