"""End to end in the other direction: set_02 (training car B) → test_04 (car C, another maker)
with C's profile, on slices of the shared data (`transfer_run`); the shipped sample's default run
(`smoke_run`, set_01 → car B with B's profile) covers the first direction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat import roster
from kd_gat.graphs.store import GraphStore

pytestmark = pytest.mark.e2e

C_CAPTURE = "test_04_unknown_vehicle_unknown_attack/DoS-3"


def out(project, layer: str, relative: str):
    return project.path(f"data/{layer}/set_02/{relative}")


def test_the_unseen_cars_capture_matches_its_profile_and_no_other(transfer_run) -> None:
    matches = pd.read_csv(out(transfer_run, "07_model_output", "capture_matches.csv"))
    matches = matches.set_index("capture")
    assert matches.loc[C_CAPTURE, "profile"] == "C"
    assert matches.loc[C_CAPTURE, "jaccard"] >= 0.9
    car_b = matches.drop(index=C_CAPTURE)
    assert len(car_b) == 4
    assert car_b["profile"].isna().all()  # no profile of car B was given


def test_car_c_windows_are_judged_at_cs_thresholds(transfer_run) -> None:
    scores = pd.read_parquet(out(transfer_run, "07_model_output", "window_scores.parquet"))
    thresholds = pd.read_csv(out(transfer_run, "07_model_output", "profile_thresholds.csv"))
    on_c = thresholds[thresholds["vehicle"] == "C"].set_index("model")["threshold"]
    assert set(on_c.index) == set(roster.detector_names())
    profile = scores[(scores["operating_point"] == "profile") & (scores["capture"] == C_CAPTURE)]
    for name in roster.detector_names():
        mine = profile[profile["model"] == name]
        assert mine["calibrated"].mean() > 0.5  # all but the first seconds' windows
        np.testing.assert_array_equal(mine.loc[mine["calibrated"], "threshold"], on_c[name])
    # the others stay at the zero-shot threshold
    others = scores[(scores["operating_point"] == "profile") & (scores["capture"] != C_CAPTURE)]
    assert not others["calibrated"].any()


def test_field_metrics_of_the_unseen_car_at_both_operating_points(transfer_run) -> None:
    field = pd.read_csv(out(transfer_run, "08_reporting", "field_metrics.csv"))
    rows = field[field["scenario"] == "test_04_unknown_vehicle_unknown_attack"]
    models = set(roster.detector_names()) | {f"{p}.alarm_or" for p in roster.fusion_names()}
    assert models <= set(rows["model"])
    for point, share in (("validation", 0.0), ("profile", 0.5)):
        mine = rows[rows["operating_point"] == point].set_index("model").loc[sorted(models)]
        assert (
            (mine["calibrated_share"] > share).all()
            if share
            else (mine["calibrated_share"] == 0).all()
        )
        assert (mine["n_events"] > 0).all()
        assert np.isfinite(mine["window_f1"]).all()
    suppress = field[field["scenario"] == "test_05_suppress"]
    assert suppress["suppress"].all()
    assert suppress["suppress_alarms"].notna().all()


def test_cs_recording_teaches_the_profile_distilled_students(transfer_run) -> None:
    store = GraphStore.load(out(transfer_run, "05_model_input", "distillation_graphs.npz"))
    assert len(store) > 0
    assert set(store.windows["capture"].astype(str).str.split("/").str[0]) == {"C"}
