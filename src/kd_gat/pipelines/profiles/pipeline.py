"""Profiles pipeline: `calibration_captures` (attack-free recordings, one folder per car) →
`vehicle_profiles` (with the training car's, from its attack-free captures held out from
training); the run's captures matched to them (`capture_matches`) and the recordings too
(`calibration_matches`). Frames only: it runs before the graphs, which read each capture's
matched profile."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_vehicle_profiles,
    held_out_recordings,
    ingest_calibration,
    match_to_profiles,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
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
                match_to_profiles,
                inputs=["frames", "vehicle_profiles", "params:profiles"],
                outputs="capture_matches",
                name="match_run_captures",
            ),
            Node(
                match_to_profiles,
                inputs=["calibration_frames", "vehicle_profiles", "params:profiles"],
                outputs="calibration_matches",
                name="match_recordings",
            ),
        ],
        tags=["profiles"],
    )
