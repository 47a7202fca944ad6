"""Batch inference never loses a capture silently: too short or fully rejected captures are
listed as unscored, with the reason, and a run where nothing can be scored still reports."""

from __future__ import annotations

import pandas as pd

from kd_gat.pipelines.inference.nodes import ALARM_COLUMNS, SCORE_COLUMNS, report_inference


def ingestion(*captures: tuple[str, int, int]) -> dict:
    return {
        "captures": [
            {"capture": c, "rows_in": v + r, "rows_valid": v, "rows_rejected": r}
            for c, v, r in captures
        ],
        "totals": {},
    }


def scores(*rows: tuple[str, int]) -> pd.DataFrame:
    table = pd.DataFrame({c: [0.0] * len(rows) for c in SCORE_COLUMNS})
    table["capture"] = [c for c, _ in rows]
    table["decision"] = [d for _, d in rows]
    table["profile"] = None
    table["calibrated"] = False
    return table


NO_ALARMS = pd.DataFrame(columns=ALARM_COLUMNS)
INFERENCE = {"detector": "gat_student_kd"}


def test_short_and_rejected_captures_are_listed_as_unscored_with_the_reason():
    report = report_inference(
        ingestion(("cars/long", 350, 0), ("cars/short", 40, 2), ("cars/bad", 0, 300)),
        scores(("cars/long", 1), ("cars/long", 0), ("cars/long", 1)),
        pd.DataFrame({"capture": ["cars/long"] * 2, "alarm": [0, 1]}),
        {"window_size": 100, "stride": 100},
        INFERENCE,
    )
    status = {c["capture"]: c["status"] for c in report["captures"]}
    assert status == {
        "cars/long": "scored",
        "cars/short": "unscored: 40 valid frames, fewer than one window (100)",
        "cars/bad": "unscored: every row rejected (300 rows)",
    }
    assert report["unscored"] == ["cars/short", "cars/bad"]
    long = next(c for c in report["captures"] if c["capture"] == "cars/long")
    assert (long["windows"], long["alerts"], long["alarms"]) == (3, 2, 2)
    assert (long["profile"], long["calibrated_share"]) == (None, 0.0)
    assert report["detector"] == "gat_student_kd"


def test_nothing_to_score_is_a_report_not_an_error():
    report = report_inference(
        ingestion(("a", 10, 0)), scores(), NO_ALARMS, {"window_size": 100}, INFERENCE
    )
    assert report["unscored"] == ["a"]
    assert report["captures"][0]["windows"] == 0
