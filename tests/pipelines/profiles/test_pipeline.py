"""Profiles stage, in-process on the shipped sample: a slice of car B's attack-free traffic makes
B's profile; set_01's captures (car A) stay unmatched, its test_04 capture (car B) matches B,
and so does the recording itself."""

from __future__ import annotations

import dataclasses

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.pipelines.profiles.nodes import (
    build_vehicle_profiles,
    held_out_recordings,
    ingest_calibration,
)
from tests.pipelines.conftest import PROFILES


def test_profile_of_the_shipped_recording(profiles_run) -> None:
    profiles = profiles_run["vehicle_profiles"]
    assert sorted(profiles["profiles"]) == ["B"]
    b = profiles["profiles"]["B"]
    assert b["minutes"] > 1.0
    assert len(b["can_ids"]) > 40
    assert all(p > 0 for p in b["periods"].values())


def test_captures_match_their_car(profiles_run) -> None:
    matches = profiles_run["capture_matches"].set_index("capture")
    test_04 = [c for c in matches.index if c.startswith("test_04")]
    assert test_04
    assert (matches.loc[test_04, "profile"] == "B").all()
    car_a = [c for c in matches.index if not c.startswith("test_04")]
    assert car_a
    assert matches.loc[car_a, "profile"].isna().all()
    assert (matches.loc[car_a, "jaccard"] < 0.9).all()


def test_a_recording_with_the_content_of_a_run_capture_is_never_used(ingestion_run, params):
    recording = CaptureFolderDataset(str(PROFILES), labelled=False).load()[0]
    run_capture = ingestion_run.inputs["raw_captures"][0]
    copy = dataclasses.replace(run_capture, relpath="A/accessory-1.csv.gz")
    none = ingestion_run["frames"].head(0)
    frames, _, report = ingest_calibration(
        [recording, copy], ingestion_run["ingestion_report"], none, params["ingestion"]
    )
    assert set(frames["capture"].astype(str).str.split("/").str[0]) == {"B"}
    assert "A/accessory-1.csv.gz" in report["refused"]
    assert "same content as" in report["refused"]["A/accessory-1.csv.gz"]
    # Only copies: nothing to build a profile from, and no error.
    frames, _, report = ingest_calibration(
        [copy], ingestion_run["ingestion_report"], none, params["ingestion"]
    )
    assert frames.empty
    assert build_vehicle_profiles(frames, report, params["profiles"])["profiles"] == {}


def test_a_too_short_recording_makes_no_profile(profiles_run, params) -> None:
    params["profiles"]["min_minutes"] = 5.0
    profiles = build_vehicle_profiles(
        profiles_run["calibration_frames"], profiles_run["calibration_report"], params["profiles"]
    )
    assert profiles["profiles"] == {}
    assert "below the 5.0 min" in profiles["refused"]["B"]


def test_the_training_car_profile_comes_from_held_out_clean_captures(ingestion_run, params):
    """Held out whole (graphs.val_captures): the attack-free capture becomes the training car's
    recording, the attacked one does not; a capture trained on never does."""
    frames = ingestion_run["frames"]
    params["graphs"]["val_captures"] = ["*/accessory-2", "train_02_with_attacks/DoS-2"]
    held = held_out_recordings(frames, params["graphs"])
    assert set(held["capture"]) == {"training_car/train_01_attack_free/accessory-2"}
    source = frames[frames["capture"].astype(str) == "train_01_attack_free/accessory-2"]
    assert len(held) == len(source)
    assert (held["attack"] == 0).all()
    recording = CaptureFolderDataset(str(PROFILES), labelled=False).load()
    calibration, _, report = ingest_calibration(
        recording, ingestion_run["ingestion_report"], held, params["ingestion"]
    )
    assert report["held_out"] == ["training_car/train_01_attack_free/accessory-2"]
    params["profiles"]["min_minutes"] = 0.1  # the shipped slice lasts 14 s
    profiles = build_vehicle_profiles(calibration, report, params["profiles"])["profiles"]
    assert set(profiles) == {"B", "training_car"}
    assert profiles["training_car"]["frames"] == len(source)
    # nothing held out by default: no training car recording
    params["graphs"]["val_captures"] = []
    assert held_out_recordings(frames, params["graphs"]).empty
