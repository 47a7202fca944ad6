"""Operating points on a hand-made timeline: which window takes a profile threshold, which keeps
the zero-shot one, and that no label is read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat.operating_points import (
    COLUMNS,
    alarm_or,
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


def test_no_alarm_in_a_captures_first_warmup_seconds() -> None:
    """warmup_s 1.5: the windows ending at 1 s (c1's and c2's first) take threshold +inf at both
    operating points, calibrated or not; the others keep theirs."""
    table = with_operating_points(scores(), WINDOWS, MATCHES, THRESHOLDS, warmup_s=1.5)
    m = table[table["model"] == "m"]
    validation = m[m["operating_point"] == "validation"]
    profile = m[m["operating_point"] == "profile"]
    inf = np.inf
    assert validation["threshold"].tolist() == [inf, 0.5, 0.5, 0.5, inf, 0.5]
    assert profile["threshold"].tolist() == [inf, 0.5, 0.9, 0.9, inf, 0.5]
    assert profile["calibrated"].tolist() == [False, False, True, True, False, False]
    # matched from the start, c1's first window is calibrated and still warming up: the
    # alarm-level OR's half-budget threshold does not replace its +inf
    early = with_operating_points(scores(), WINDOWS, MATCHES.assign(matched_from=0.0),
                                  THRESHOLDS, warmup_s=1.5)  # fmt: skip
    pair = alarm_or(early, "pair", "m", "f", THRESHOLDS.assign(threshold_half_budget=0.0))
    pair = pair[pair["operating_point"] == "profile"]
    flagged = (pair["score"] >= pair["threshold"]).tolist()
    assert flagged == [False, True, True, True, False, True]


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


def test_alarm_or_flags_what_either_member_flags_each_at_half_the_budget() -> None:
    """Detectors "v" and "g" on the windows above: at the validation point each at its own
    threshold (0.5); at the profile point, on c1's windows once matched, each at its threshold
    for half of B's budget; the pair flags a window when either member does."""
    v = scores().assign(model="v", score=[0.1, 0.6, 0.7, 0.2, 0.9, 0.1] * 2)
    g = scores().assign(model="g", score=[0.6, 0.1, 0.2, 0.95, 0.1, 0.1] * 2)
    both = pd.concat([v[v.index < 6], g[g.index < 6]], ignore_index=True)
    thresholds = pd.DataFrame(
        {
            "model": ["v", "g"],
            "vehicle": ["B", "B"],
            "threshold": [0.6, 0.8],
            "threshold_half_budget": [0.75, 0.9],
        }
    )
    table = with_operating_points(both, WINDOWS, MATCHES, thresholds)
    pair = alarm_or(table, "p.alarm_or", "v", "g", thresholds)
    assert list(pair.columns) == COLUMNS
    assert (pair["model"] == "p.alarm_or").all()
    flagged = lambda op: (  # noqa: E731
        pair.loc[pair["operating_point"] == op].sort_values("window")["score"] >= 0
    ).tolist()
    # validation: v ≥ 0.5 at windows 1, 2, 4; g ≥ 0.5 at 0, 3
    assert flagged("validation") == [True, True, True, True, True, False]
    # profile: windows 2, 3 of c1 calibrated: v at 0.75 (0.7 no), g at 0.9 (0.95 yes)
    assert flagged("profile") == [True, True, False, True, True, False]
    profile = pair[pair["operating_point"] == "profile"].sort_values("window")
    assert profile["calibrated"].tolist() == [False, False, True, True, False, False]
    assert np.allclose(profile["score"].iloc[3], 0.95 - 0.9)
