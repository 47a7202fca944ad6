"""Features relative to the matched vehicle profile, on hand-worked captures: an ID suppressed
from the first frame, a fuzzed ID sent twice, a legitimate ID the profile lacks, counts against
the profile's period, windows before the match; causality with a profile."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kd_gat.graphs.builder import build_store
from kd_gat.graphs.prior import ProfilePrior, profile_periods
from tests.graphs.factory import random_frames
from tests.graphs.test_history import PERIOD, node_table, periodic

CAPTURE = "test_01_known/c"
T0 = 100.0  # first frame of `periodic()`


def profile_of(periods: dict[int, float], since: float = T0) -> dict:
    """`build_store` keyword arguments: the capture matched from `since` to a profile with
    these IDs and periods."""
    return {
        "matches": pd.DataFrame([{"capture": CAPTURE, "profile": "car", "matched_from": since}]),
        "profiles": {"car": {"can_ids": sorted(periods), "periods": periods}},
    }


def test_an_id_suppressed_from_the_first_frame_is_missing():
    # The profile expects 0x300 every 10 ms; the capture never sends it.
    nodes = node_table(periodic(), **profile_of({0x100: PERIOD, 0x200: PERIOD, 0x300: PERIOD}))
    np.testing.assert_allclose(nodes["missing_share"], 1 / 3, rtol=1e-6)
    # The same capture against a profile that lacks 0x300, or without a profile: none missing.
    assert (
        node_table(periodic(), **profile_of({0x100: PERIOD, 0x200: PERIOD}))["missing_share"] == 0
    ).all()
    assert (node_table(periodic())["missing_share"] == 0).all()


def test_a_rare_profile_id_is_not_expected_in_a_short_window():
    # Period 1 s: not expected twice in a 0.1 s window, so its absence is no evidence.
    nodes = node_table(periodic(), **profile_of({0x100: PERIOD, 0x200: PERIOD, 0x300: 1.0}))
    assert (nodes["missing_share"] == 0).all()


def test_a_fuzzed_id_is_unknown_on_every_pass():
    # 0x3A5 sent twice (0.153 s and 0.253 s: windows 1 and 2), as a fuzzer's two passes.
    table = periodic(extra=[(0.153, 0x3A5), (0.253, 0x3A5)])
    nodes = node_table(table, **profile_of({0x100: PERIOD, 0x200: PERIOD}))
    fuzzed = nodes.xs(-1, level="can_id")  # out of the test vocabulary
    assert list(fuzzed.index) == [1, 2]
    assert (fuzzed["unknown_id"] == 1).all()
    assert list(fuzzed["new_id"]) == [1, 0]  # new only on its first pass
    known = nodes.drop(index=-1, level="can_id")
    assert (known["unknown_id"] == 0).all()


def test_an_id_the_profile_lacks_is_known_after_a_few_frames():
    # 0x200 is the car's, but the profile (recorded in another state) lacks it.
    nodes = node_table(periodic(), size=4, **profile_of({0x100: PERIOD}))
    unknown = nodes["unknown_id"].xs(0x200, level="can_id")
    # 2 frames of 0x200 per window: seen 0 and 2 times before windows 0 and 1, 4 before window 2
    assert list(unknown.iloc[:3]) == [1, 1, 0]
    assert (unknown.iloc[2:] == 0).all()
    assert (nodes["unknown_id"].xs(0x100, level="can_id") == 0).all()


def test_windows_before_the_match_fall_back_on_the_capture():
    # Matched from 0.15 s: window 0 (0–0.1 s) ends before it; window 1 (0.1–0.2 s) after it.
    since = T0 + 0.15
    nodes = node_table(
        periodic(), **profile_of({0x100: PERIOD, 0x200: PERIOD, 0x300: PERIOD}, since)
    )
    missing = nodes["missing_share"].groupby(level="window").first()
    assert missing.iloc[0] == 0
    assert missing.iloc[1] == pytest.approx(1 / 3)
    # Window 0 without the profile: its IDs are the capture's first frames, unknown.
    assert (nodes.loc[0, "unknown_id"] == 1).all()
    assert (nodes.loc[1, "unknown_id"] == 0).all()


def test_counts_against_the_profile_period():
    # The profile says 0x100 comes every 5 ms: 20 frames expected in a 0.1 s window, 10 seen.
    nodes = node_table(periodic(), **profile_of({0x100: PERIOD / 2, 0x200: PERIOD}))
    ratio = nodes["profile_count_ratio"].xs(0x100, level="can_id")
    np.testing.assert_allclose(ratio, math.log2(11 / 21), atol=1e-5)
    np.testing.assert_allclose(
        nodes["profile_count_ratio"].xs(0x200, level="can_id"), 0.0, atol=1e-5
    )
    # From the first window on, where the running period knows nothing yet (count_ratio 0).
    assert nodes.loc[(0, 0x100), "count_ratio"] == 0.0
    # No period in the profile: the running one.
    nodes = node_table(periodic(), **profile_of({0x100: float("nan"), 0x200: PERIOD}))
    np.testing.assert_array_equal(
        nodes["profile_count_ratio"].xs(0x100, level="can_id"),
        nodes["count_ratio"].xs(0x100, level="can_id"),
    )


def test_profile_periods_reads_json_keys():
    ids, periods = profile_periods({"can_ids": [0x200, 0x100], "periods": {"256": 0.01, "512": 0}})
    assert ids.tolist() == [0x100, 0x200]
    assert periods[0] == 0.01
    assert math.isnan(periods[1])


def test_unmatched_and_unknown_captures_read_no_profile():
    prior = ProfilePrior.build(
        pd.Series(["a", "b"]),
        np.array([0, 2]),
        np.array([2, 2]),
        np.array([1, 2, 1, 2]),
        pd.DataFrame([{"capture": "a", "profile": "gone", "matched_from": 0.0}]),
        {"car": {"can_ids": [1, 2], "periods": {}}},
    )
    assert np.isinf(prior.matched_from).all()
    assert not prior.in_profile.any()


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    length=st.integers(10, 120),
    size=st.integers(2, 10),
    cut=st.floats(0.1, 0.9),
    since=st.floats(0.0, 1.0),
)
def test_appending_frames_changes_no_earlier_window_with_a_profile(seed, length, size, cut, since):
    rng = np.random.default_rng(seed)
    table = random_frames(rng, [length], n_ids=7)
    head = table.iloc[: max(int(length * cut), size)].reset_index(drop=True)
    ids = np.unique(table["can_id"]).astype(np.int64)
    profile = {int(i): float(rng.exponential(0.02)) for i in ids[::2]}
    t = table["timestamp"].to_numpy()
    kwargs = {
        "matches": pd.DataFrame(
            [
                {
                    "capture": table["capture"].iloc[0],
                    "profile": "car",
                    "matched_from": t[0] + since * (t[-1] - t[0]),
                }
            ]
        ),
        "profiles": {"car": {"can_ids": sorted(profile), "periods": profile}},
    }

    def build(part: pd.DataFrame):
        return build_store(part, ids[::3], size, size, "drop", 1, **kwargs)[0]

    short, full = build(head), build(table)
    np.testing.assert_array_equal(short.x, full.x[: short.node_ptr[-1]])


def test_gaps_against_the_profile_period():
    # the profile says 0x100 comes every 5 ms; it comes every 10 ms: each gap is log2(2) = 1
    nodes = node_table(periodic(), **profile_of({0x100: PERIOD / 2, 0x200: PERIOD}))
    later = nodes.loc[nodes.index.get_level_values("window") >= 1]
    np.testing.assert_allclose(later.xs(0x100, level="can_id")["profile_iat_ratio_mean"], 1.0)
    np.testing.assert_allclose(
        later.xs(0x200, level="can_id")["profile_iat_ratio_max"], 0.0, atol=1e-6
    )
    # the capture's first frame of an ID has no gap: 0
    first = nodes.loc[(0, 0x100)]
    assert first["profile_iat_ratio_min"] == 0.0
    assert first["profile_iat_ratio_max"] == pytest.approx(1.0)


def test_an_attack_does_not_move_the_profile_reference():
    """A flood of 0x000 (every 0.5 ms, 0.10–0.15 s) inflates the capture's running frame rate
    for the rest of the capture; the profile's rate (200 frames/s, as the regular traffic) stays
    the reference: the last window, regular again, is at the profile's level."""
    flood = [(round(0.1 + 0.0005 * k, 6), 0x000) for k in range(100)]
    periods = {0x100: PERIOD, 0x200: PERIOD}
    car = profile_of(periods) | {
        "profiles": {
            "car": {
                "can_ids": sorted(periods),
                "periods": periods,
                "frames": 12_000,
                "minutes": 1.0,
            }
        }
    }
    nodes = node_table(periodic(extra=flood), **car)
    last = nodes.loc[nodes.index.get_level_values("window").max()]
    assert (last["bus_load_ratio"] < -1.0).all()  # the flood is still in the running rate
    np.testing.assert_allclose(last["profile_load_ratio"], 0.0, atol=1e-6)
    # without a profile rate: the running one
    plain = node_table(periodic(extra=flood), **profile_of(periods))
    np.testing.assert_array_equal(plain["profile_load_ratio"], plain["bus_load_ratio"])
