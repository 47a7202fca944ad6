"""Vehicle profiles: building, refusing short recordings, matching captures to cars by their IDs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat.profiles import (
    ProfileError,
    build_profile,
    distillation_windows,
    jaccard,
    match_captures,
)
from tests.conftest import SHARED
from tests.graphs.factory import capture, frames

PROFILES = SHARED.parent / "vehicle_profiles"


def periodic_car(name: str, ids: list[int], seconds: float, period: float = 0.01) -> pd.DataFrame:
    """Every ID once per `period` for `seconds`, IDs staggered inside the period."""
    n = int(seconds / period)
    times = np.arange(n)[:, None] * period + np.linspace(0, period, len(ids), endpoint=False)
    return capture(
        f"profile/{name}",
        "test",
        can_id=np.tile(ids, n).tolist(),
        timestamp=(1000.0 + times.ravel()).tolist(),
        payload=[[1]] * (n * len(ids)),
    )


def test_profile_holds_ids_and_periods():
    table = frames(periodic_car("a", [0x10, 0x20, 0x30], seconds=70))
    profile = build_profile("A", table, min_count=5, min_minutes=1.0)
    assert profile["can_ids"] == [0x10, 0x20, 0x30]
    assert profile["minutes"] == pytest.approx(70 / 60, abs=0.01)
    for period in profile["periods"].values():
        assert period == pytest.approx(0.01, rel=1e-6)


def test_a_too_short_recording_is_refused():
    table = frames(periodic_car("a", [0x10, 0x20], seconds=30))
    with pytest.raises(ProfileError, match=r"0\.50 min .* below the 1\.0 min"):
        build_profile("A", table, min_count=5, min_minutes=1.0)


def test_rare_ids_are_not_part_of_the_set():
    car = periodic_car("a", [0x10, 0x20], seconds=70)
    one_off = capture("profile/b", "test", can_id=[0x7FF, 0x7FE], timestamp=[1001.0, 1002.0])
    profile = build_profile("A", frames(car, one_off), min_count=5, min_minutes=1.0)
    assert profile["can_ids"] == [0x10, 0x20]


def test_jaccard():
    assert jaccard(np.array([1, 2, 3]), np.array([2, 3, 4])) == pytest.approx(0.5)
    assert jaccard(np.array([]), np.array([])) == 0.0


def test_matching_by_the_first_seconds():
    profiles = {
        "A": {"can_ids": [1, 2, 3, 4, 5]},
        "B": {"can_ids": [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]},
    }
    a_capture = periodic_car("a", [1, 2, 3, 4, 5], seconds=12)
    # From 5 s on, an attacker adds ID 99 to car A's traffic: it is not in the first 2 s.
    late = capture("profile/a", "test", can_id=[99] * 20, timestamp=1005 + np.arange(20) * 0.1)
    attacked = pd.concat([a_capture, late]).sort_values("timestamp", kind="stable")
    table = frames(attacked, periodic_car("z", [50, 51, 52], seconds=12))
    matches = match_captures(table, profiles, seconds=2.0, min_count=5, min_jaccard=0.9)
    by = matches.set_index("capture")
    assert by.loc["profile/a", "profile"] == "A"
    assert by.loc["profile/a", "jaccard"] == pytest.approx(1.0)
    assert by.loc["profile/a", "matched_from"] == pytest.approx(1002.0)
    assert pd.isna(by.loc["profile/z", "profile"])  # an unknown car stays uncalibrated


@pytest.fixture(scope="module")
def shared_frames(shared_data):
    """The first 40,000 frames (≈ 15–20 s) of each profile recording and test_04 capture."""

    def head(path, name):
        table = pd.read_csv(path, nrows=40_000)
        return pd.DataFrame(
            {
                "capture": name,
                "timestamp": table["timestamp"].astype(float),
                "can_id": table["arbitration_id"].map(lambda h: int(h, 16)),
            }
        )

    parts = {
        "profile": {
            car: head(next((PROFILES / car).glob("*.csv.gz")), f"{car}/rec") for car in "ABC"
        },
        "captures": pd.concat(
            [
                head(
                    shared_data
                    / "set_01/test_04_unknown_vehicle_unknown_attack/systematic-4.csv.gz",
                    "B/systematic-4",
                ),
                head(
                    shared_data / "set_02/test_04_unknown_vehicle_unknown_attack/DoS-3.csv.gz",
                    "C/DoS-3",
                ),
                head(
                    shared_data / "set_01/test_01_known_vehicle_known_attack/DoS-3.csv.gz",
                    "A/DoS-3",
                ),
            ]
        ),
    }
    return parts


def test_shared_captures_match_their_own_car(shared_frames):
    profiles = {
        car: build_profile(car, table, min_count=5, min_minutes=0.1)
        for car, table in shared_frames["profile"].items()
    }
    # B and C only: A's recordings are set_01's training captures.
    matches = match_captures(
        shared_frames["captures"],
        {car: profiles[car] for car in "BC"},
        seconds=10.0,
        min_count=5,
        min_jaccard=0.9,
    ).set_index("capture")
    assert matches.loc["B/systematic-4", "profile"] == "B"
    assert matches.loc["C/DoS-3", "profile"] == "C"
    # Car A is B's sibling (79 % of IDs shared) but must not pass for it.
    assert pd.isna(matches.loc["A/DoS-3", "profile"])
    assert 0.6 < matches.loc["A/DoS-3", "jaccard"] < 0.9


def test_the_last_share_of_other_cars_recordings_is_kept_for_distillation():
    """Two recordings of car B (0–10 s and 100–104 s) and one of the training car: with share
    0.3, B's windows starting in the last 30 % of each recording's span teach, the rest (and
    every training-car window) calibrate; share 0 keeps none."""
    starts = np.array([0.0, 2.0, 4.0, 6.0, 8.0, 100.0, 101.0, 102.0, 103.0, 0.0, 5.0])
    windows = pd.DataFrame(
        {
            "capture": ["B/r1"] * 5 + ["B/r2"] * 4 + ["training_car/train_01/a"] * 2,
            "start_time": starts,
            "end_time": starts + 1.0,
        }
    )
    kept = distillation_windows(windows, 0.3)
    # r1 spans 0–9 s: starts ≥ 6.3 s; r2 spans 100–104 s: starts ≥ 102.8 s
    assert kept.tolist() == [False] * 4 + [True] + [False] * 3 + [True] + [False] * 2
    assert not distillation_windows(windows, 0.0).any()
