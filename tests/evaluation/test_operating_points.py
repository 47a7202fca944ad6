"""Operating points on a hand-made timeline: which window takes a profile threshold, which keeps
the zero-shot one, and that no label is read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat.operating_points import (
    COLUMNS,
    profile_thresholds_per_window,
    with_operating_points,
)

# scenario "s": capture c1 (car B, matched from t = 3 s) has windows ending at 1, 2, 4, 5 s;
# capture c2 (matched to nothing) has windows ending at 1, 2 s
WINDOWS = {
    "s": pd.DataFrame(
        {
            "capture": ["c1", "c1", "c1", "c1", "c2", "c2"],
            "start_time": [0.0, 1.0, 3.0, 4.0, 0.0, 1.0],
            "end_time": [1.0, 2.0, 4.0, 5.0, 1.0, 2.0],
        }
    )
}
MATCHES = pd.DataFrame(
    {"capture": ["c1", "c2"], "profile": ["B", None], "jaccard": [0.97, 0.2], "matched_from": 3.0}
)
# detector "m" has a threshold on B's profile; fusion method "f" has none
THRESHOLDS = pd.DataFrame({"model": ["m"], "vehicle": ["B"], "threshold": [0.9]})


def scores(labels: np.ndarray | None = None) -> pd.DataFrame:
    labels = np.array([0, 1, 0, 1, 0, 1]) if labels is None else labels
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "model": model,
                    "scenario": "s",
                    "window": np.arange(6),
                    "label": labels,
                    "score": np.linspace(0.1, 0.95, 6),
                    "threshold": 0.5,
                }
            )
            for model in ("m", "f")
        ],
        ignore_index=True,
    )


def test_a_window_is_calibrated_once_its_capture_is_matched() -> None:
    table = profile_thresholds_per_window(scores(), WINDOWS, MATCHES, THRESHOLDS)
    assert list(table.columns) == COLUMNS
    m = table[table["model"] == "m"]
    # c1's windows ending before the match (t < 3 s) keep the zero-shot threshold
    assert m["calibrated"].tolist() == [False, False, True, True, False, False]
    assert m["threshold"].tolist() == [0.5, 0.5, 0.9, 0.9, 0.5, 0.5]
    assert m["profile"].tolist() == ["B", "B", "B", "B", None, None]
    assert m["capture"].tolist() == ["c1", "c1", "c1", "c1", "c2", "c2"]
    assert m["end_time"].tolist() == [1.0, 2.0, 4.0, 5.0, 1.0, 2.0]
    # a model without a threshold on the profile is never calibrated
    f = table[table["model"] == "f"]
    assert not f["calibrated"].any()
    assert (f["threshold"] == 0.5).all()
    assert (table["operating_point"] == "profile").all()


def test_both_operating_points_stacked() -> None:
    table = with_operating_points(scores(), WINDOWS, MATCHES, THRESHOLDS)
    assert len(table) == 2 * len(scores())
    validation = table[table["operating_point"] == "validation"]
    assert (validation["threshold"] == 0.5).all()
    assert not validation["calibrated"].any()
    assert validation["profile"].isna().all()
    profile = table[table["operating_point"] == "profile"]
    assert profile["calibrated"].sum() == 2
    # scores and labels are the same at both operating points
    for column in ("model", "window", "label", "score", "capture"):
        assert validation[column].tolist() == profile[column].tolist()


def test_no_label_is_read() -> None:
    rng = np.random.default_rng(0)
    plain = with_operating_points(scores(), WINDOWS, MATCHES, THRESHOLDS)
    for _ in range(5):
        shuffled = scores(rng.permutation([0, 1, 0, 1, 0, 1]))
        other = with_operating_points(shuffled, WINDOWS, MATCHES, THRESHOLDS)
        for column in ("threshold", "calibrated", "profile"):
            assert other[column].tolist() == plain[column].tolist()


def test_no_profile_at_all_leaves_every_window_zero_shot() -> None:
    empty = pd.DataFrame({"model": [], "vehicle": [], "threshold": []})
    unmatched = MATCHES.assign(profile=None)
    table = profile_thresholds_per_window(scores(), WINDOWS, unmatched, empty)
    assert not table["calibrated"].any()
    assert (table["threshold"] == 0.5).all()
    # the same matches read back from CSV: an all-NaN (float) profile column
    from_csv = MATCHES.assign(profile=np.nan)
    again = profile_thresholds_per_window(scores(), WINDOWS, from_csv, THRESHOLDS)
    assert not again["calibrated"].any()
    assert again["profile"].isna().all()


def test_a_score_without_a_window_is_refused() -> None:
    extra = pd.concat([scores(), scores().head(1).assign(window=99)], ignore_index=True)
    with pytest.raises(ValueError, match="missing from the test stores"):
        profile_thresholds_per_window(extra, WINDOWS, MATCHES, THRESHOLDS)
