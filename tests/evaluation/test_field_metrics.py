"""Field metrics on hand-made timelines whose figures are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kd_gat.field_metrics import (
    CAPTURE_KEYS,
    METRIC_COLUMNS,
    alarm_rate,
    attack_events,
    check_disjoint,
    event_detection,
    false_alarms,
    field_metrics,
    frame_counts,
    window_decisions,
)
from kd_gat.reporting import metrics_table

LABELLED = "test_01_known_vehicle_known_attack"
SUPPRESS = "test_05_suppress"
MASQUERADE = "test_06_masquerade"


def timeline(capture: str, spans, n_frames=100, n_attack=0) -> pd.DataFrame:
    """A store window table: one window per (start, end) span of `capture`."""
    n = len(spans)
    n_attack = np.broadcast_to(np.asarray(n_attack, dtype=np.int64), (n,))
    return pd.DataFrame(
        {
            "capture": capture,
            "scenario": capture.split("/")[0],
            "attack_kind": "none",
            "start_row": np.arange(n) * n_frames + 1,
            "end_row": np.arange(n) * n_frames + n_frames,
            "start_time": [float(s) for s, _ in spans],
            "end_time": [float(e) for _, e in spans],
            "n_frames": np.broadcast_to(np.asarray(n_frames, dtype=np.int64), (n,)),
            "n_attack_frames": n_attack,
            "label": (n_attack > 0).astype(np.int64),
        }
    )


def scored(scenario: str, windows: pd.DataFrame, flagged, model="m") -> pd.DataFrame:
    """`window_scores` rows of one model: score 0.9 where flagged, 0.1 elsewhere, threshold 0.5."""
    flagged = np.broadcast_to(np.asarray(flagged, dtype=bool), (len(windows),))
    return pd.DataFrame(
        {
            "model": model,
            "scenario": scenario,
            "window": np.arange(len(windows)),
            "label": windows["label"].to_numpy(),
            "score": np.where(flagged, 0.9, 0.1),
            "threshold": 0.5,
        }
    )


def events_table(*rows) -> pd.DataFrame:
    """Events (capture, start, end) as `attack_events` gives them."""
    return pd.DataFrame(
        {
            "capture": [r[0] for r in rows],
            "scenario": [r[0].split("/")[0] for r in rows],
            "attack_kind": "DoS",
            "event": np.arange(len(rows)),
            "start_time": [float(r[1]) for r in rows],
            "end_time": [float(r[2]) for r in rows],
            "n_attack_frames": 1,
        }
    )


def no_events() -> pd.DataFrame:
    return events_table().iloc[:0]


def row(table: pd.DataFrame, **keys) -> pd.Series:
    mask = np.ones(len(table), dtype=bool)
    for key, value in keys.items():
        mask &= table[key].to_numpy() == value
    (index,) = np.flatnonzero(mask)
    return table.iloc[index]


# ---- events --------------------------------------------------------------------------------


def test_attack_frames_closer_than_the_gap_form_one_event() -> None:
    a, b = f"{LABELLED}/DoS-1", f"{LABELLED}/DoS-2"
    frames = pd.DataFrame(
        {
            "capture": [a] * 8 + [b] * 2,
            "scenario": LABELLED,
            "attack_kind": "DoS",
            # a: attacks at 10, 10.5, 11.25 (gaps < 1), 12.25 (gap exactly 1: a new event), 20
            "timestamp": [9.0, 10.0, 10.5, 10.9, 11.25, 12.25, 15.0, 20.0, 10.25, 10.75],
            "attack": [0, 1, 1, 0, 1, 1, 0, 1, 1, 1],
        }
    ).sample(frac=1, random_state=3)  # row order does not matter
    events = attack_events(frames, gap_s=1.0)
    assert events["capture"].tolist() == [a, a, a, b]
    assert events["event"].tolist() == [0, 1, 2, 0]
    assert events["start_time"].tolist() == [10.0, 12.25, 20.0, 10.25]
    assert events["end_time"].tolist() == [11.25, 12.25, 20.0, 10.75]
    assert events["n_attack_frames"].tolist() == [3, 1, 1, 2]
    # a longer gap joins 12.25 to the first event; frames of another capture never join
    wider = attack_events(frames, gap_s=1.5)
    assert wider["start_time"].tolist() == [10.0, 20.0, 10.25]
    assert wider["end_time"].tolist() == [12.25, 20.0, 10.75]
    assert attack_events(frames.assign(attack=0), 1.0).empty


# ---- detection and latency -------------------------------------------------------------------


def test_an_event_is_detected_by_a_flagged_window_overlapping_it_with_its_latency() -> None:
    capture = f"{LABELLED}/DoS-1"
    spans = [(0, 0.9), (1.0, 1.9), (2.0, 2.9), (3.0, 3.9), (4.0, 4.9), (5.0, 5.9)]
    windows = timeline(capture, spans, n_attack=[0, 1, 1, 0, 0, 1])
    scores = pd.concat(
        [
            # a: w2 and w4 flagged; b: w1 and w2 flagged
            scored(LABELLED, windows, [0, 0, 1, 0, 1, 0], model="a"),
            scored(LABELLED, windows, [0, 1, 1, 0, 0, 0], model="b"),
        ]
    )
    events = events_table(
        (capture, 1.2, 2.5),  # overlaps w1, w2
        (capture, 3.92, 3.95),  # between w3 (ends 3.9) and w4 (starts 4.0, flagged by a)
        (capture, 5.5, 5.6),  # inside w5, which neither model flags
        (capture, 5.9, 6.5),  # touches w5's end
        (f"{LABELLED}/other", 2.0, 2.5),  # a capture without windows, same times
    )
    decisions = window_decisions(scores, {LABELLED: windows})
    found = event_detection(events, decisions).set_index(["model", "capture", "event"])
    a = found.loc["a"]
    assert a.loc[(capture, 0), "detected"]
    assert a.loc[(capture, 0), "latency_s"] == pytest.approx(2.9 - 1.2)
    assert not a.loc[(capture, 1), "detected"]  # a's next flagged window, w4, starts after it
    assert not a.loc[(capture, 2), "detected"]
    assert math.isnan(a.loc[(capture, 2), "latency_s"])
    assert not a.loc[(f"{LABELLED}/other", 4), "detected"]  # a's windows are another capture's
    # b flags w1 and w2: latency runs to the end of the first one in time
    assert found.loc[("b", capture, 0), "latency_s"] == pytest.approx(1.9 - 1.2)
    # closed intervals: a window ending when the event starts overlaps it (latency 0)
    touching = scored(LABELLED, windows, [0, 0, 0, 0, 0, 1], model="c")
    c = event_detection(events, window_decisions(touching, {LABELLED: windows}))
    c = c.set_index("event")
    assert c.loc[3, "detected"]
    assert c.loc[3, "latency_s"] == pytest.approx(0.0)

    by_scenario, by_capture = field_metrics(scores, {LABELLED: windows}, events, 1.0, 0.95)
    a_row = row(by_scenario, model="a")
    assert (a_row["n_events"], a_row["n_detected"]) == (5, 1)
    assert a_row["share_detected"] == pytest.approx(1 / 5)
    assert a_row["latency_median_s"] == pytest.approx(1.7)
    assert a_row["latency_max_s"] == pytest.approx(1.7)
    # the event of the capture without windows is listed, and missed
    other = row(by_capture, model="a", capture=f"{LABELLED}/other")
    assert (other["n_windows"], other["n_events"], other["n_detected"]) == (0, 1, 0)


def test_latency_median_and_max_are_over_the_detected_events_of_the_scenario() -> None:
    c1, c2 = f"{LABELLED}/DoS-1", f"{LABELLED}/DoS-2"
    w1 = timeline(c1, [(0, 1), (1.5, 2.5), (3, 4)], n_attack=[1, 1, 1])
    w2 = timeline(c2, [(0, 1), (1.5, 2.5)], n_attack=[1, 1])
    windows = {LABELLED: pd.concat([w1, w2], ignore_index=True)}
    scores = scored(LABELLED, windows[LABELLED], [1, 0, 1, 0, 1])
    events = events_table((c1, 0.5, 0.6), (c1, 2.0, 3.5), (c2, 0.2, 2.0))
    # latencies: 1 − 0.5, 4 − 2.0 (w2 of c1 unflagged), 2.5 − 0.2
    by_scenario, by_capture = field_metrics(scores, windows, events, 1.0, 0.95)
    latencies = [0.5, 2.0, 2.3]
    scenario = row(by_scenario, model="m")
    assert scenario["latency_median_s"] == pytest.approx(np.median(latencies))
    assert scenario["latency_max_s"] == pytest.approx(max(latencies))
    assert row(by_capture, capture=c1)["latency_median_s"] == pytest.approx(1.25)
    assert row(by_capture, capture=c2)["latency_max_s"] == pytest.approx(2.3)


# ---- frames ------------------------------------------------------------------------------------


def test_frames_take_their_windows_decision() -> None:
    capture = f"{LABELLED}/DoS-1"
    windows = timeline(capture, [(0, 1), (1, 2), (2, 3), (3, 4)], n_attack=[30, 0, 20, 0])
    decisions = window_decisions(scored(LABELLED, windows, [1, 1, 0, 0]), {LABELLED: windows})
    counts = frame_counts(decisions)
    assert counts[["frame_tp", "frame_fp", "frame_fn"]].to_numpy().tolist() == [[30, 170, 20]]
    by_scenario, _ = field_metrics(
        scored(LABELLED, windows, [1, 1, 0, 0]), {LABELLED: windows}, no_events(), 1.0, 0.95
    )
    r = row(by_scenario, model="m")
    assert r["frame_precision"] == pytest.approx(30 / 200)
    assert r["frame_recall"] == pytest.approx(30 / 50)
    assert r["frame_f1"] == pytest.approx(2 * 30 / (2 * 30 + 170 + 20))
    assert r["time_in_alarm"] == pytest.approx(0.5)


def test_overlapping_windows_are_refused_naming_the_capture() -> None:
    capture = f"{LABELLED}/DoS-1"
    overlapping = timeline(capture, [(0, 1), (0.5, 1.5), (2, 3)])
    scores = scored(LABELLED, overlapping, [1, 0, 0])
    with pytest.raises(ValueError, match=f"{capture}.*counted twice"):
        field_metrics(scores, {LABELLED: overlapping}, no_events(), 1.0, 0.95)
    with pytest.raises(ValueError, match=capture):
        frame_counts(window_decisions(scores, {LABELLED: overlapping}))
    # windows that only touch, or overlap another capture's, are fine
    touching = timeline(capture, [(0, 1), (1, 2)])
    other = timeline(f"{LABELLED}/DoS-2", [(0.5, 1.5)])
    check_disjoint(pd.concat([touching, other], ignore_index=True))


# ---- false alarms ----------------------------------------------------------------------------


def test_flagged_benign_windows_closer_than_the_merge_gap_are_one_alarm() -> None:
    capture = f"{LABELLED}/DoS-1"
    spans = [(0, 10), (10.5, 20), (20.5, 30), (30.2, 40), (41, 50), (50.5, 60), (61, 70)]
    windows = timeline(capture, spans, n_attack=[0, 0, 0, 0, 100, 0, 0])
    flags = [1, 1, 0, 1, 1, 1, 1]
    # alarms: w0+w1 (gap 0.5); w3 (10.2 after w1); w5 (10.5 after w3: the flagged attack window
    # w4 between them is no false alarm and does not join them); w6 (gap exactly 1.0: new)
    decisions = window_decisions(scored(LABELLED, windows, flags), {LABELLED: windows})
    alarms = false_alarms(decisions, merge_s=1.0)
    benign_s = 10 + 9.5 + 9.5 + 9.8 + 9.5 + 9
    assert alarms["alarms"].tolist() == [4]
    assert alarms["benign_s"].tolist() == [pytest.approx(benign_s)]
    assert false_alarms(decisions, merge_s=1.01)["alarms"].tolist() == [3]
    assert false_alarms(decisions, merge_s=0.0)["alarms"].tolist() == [5]

    by_scenario, _ = field_metrics(
        scored(LABELLED, windows, flags), {LABELLED: windows}, no_events(), 1.0, 0.95
    )
    r = row(by_scenario, model="m")
    hours = benign_s / 3600
    assert r["false_alarms"] == 4
    assert r["benign_minutes"] == pytest.approx(benign_s / 60)
    assert r["false_alarms_per_h"] == pytest.approx(4 / hours)
    assert r["false_alarms_per_h_upper"] == pytest.approx(alarm_rate(4, hours, 0.95)[1])
    flagged_s = 10 + 9.5 + 9.8 + 9 + 9.5 + 9
    assert r["time_in_alarm"] == pytest.approx(flagged_s / (benign_s + 9))


def test_the_rate_bound_is_the_exact_poisson_one() -> None:
    rate, upper = alarm_rate(0, 1.0, 0.95)
    assert rate == 0
    assert upper == pytest.approx(2.9957, abs=1e-4)  # −ln(0.05)
    _, upper = alarm_rate(3, 0.5, 0.95)
    assert upper == pytest.approx(7.7537 / 0.5, abs=1e-3)  # chi2.ppf(0.95, 8) / 2 / 0.5 h
    _, upper = alarm_rate(0, 1.0, 0.99)
    assert upper == pytest.approx(-math.log(0.01))
    # ten minutes without an alarm cannot show ≤ 5 alarms/h
    rate, upper = alarm_rate(0, 10 / 60, 0.95)
    assert rate == 0
    assert upper == pytest.approx(6 * 2.9957, abs=1e-3)
    assert upper > 5
    assert np.isnan(alarm_rate(0, 0.0, 0.95)).all()


def test_an_hour_without_a_false_alarm_through_field_metrics() -> None:
    capture = f"{LABELLED}/DoS-1"
    windows = timeline(capture, [(60 * i, 60 * (i + 1)) for i in range(60)])
    by_scenario, _ = field_metrics(
        scored(LABELLED, windows, False), {LABELLED: windows}, no_events(), 1.0, 0.95
    )
    r = row(by_scenario, model="m")
    assert r["benign_minutes"] == pytest.approx(60)
    assert r["false_alarms_per_h"] == 0
    assert r["false_alarms_per_h_upper"] == pytest.approx(2.9957, abs=1e-4)
    assert "no attack event" in r["note"]


# ---- suppress and masquerade scenarios ----------------------------------------------------------


def test_suppress_scenarios_stay_out_of_the_false_alarm_pool() -> None:
    labelled = timeline(f"{LABELLED}/DoS-1", [(0, 10), (20, 30), (40, 50)], n_attack=[0, 5, 0])
    suppress = timeline(f"{SUPPRESS}/suppress-1", [(0, 10), (20, 30), (40, 50), (60, 70)])
    masquerade = timeline(f"{MASQUERADE}/masq-1", [(0, 10), (20, 30)], n_attack=[0, 3])
    windows = {LABELLED: labelled, SUPPRESS: suppress, MASQUERADE: masquerade}
    scores = pd.concat(
        [
            scored(LABELLED, labelled, [1, 1, 0]),
            scored(SUPPRESS, suppress, [1, 0, 1, 1]),
            scored(MASQUERADE, masquerade, [1, 1]),
        ]
    )
    events = events_table((f"{LABELLED}/DoS-1", 22, 23), (f"{MASQUERADE}/masq-1", 21, 25))
    by_scenario, by_capture = field_metrics(scores, windows, events, 1.0, 0.95)

    for table in (by_scenario, by_capture):
        s = row(table, scenario=SUPPRESS)
        assert s["suppress"]
        # alarms: w0, w2 (30 s later), w3 (10 s after w2 ends): three
        assert s["suppress_alarms"] == 3
        assert s["suppress_minutes"] == pytest.approx(40 / 60)
        assert s["suppress_alarms_per_h"] == pytest.approx(3 / (40 / 3600))
        assert s["suppress_alarms_per_h_upper"] > s["suppress_alarms_per_h"]
        assert s["time_in_alarm"] == pytest.approx(30 / 40)
        for column in (
            "false_alarms",
            "false_alarms_per_h",
            "benign_minutes",
            "frame_recall",
            "frame_f1",
            "share_detected",
            "window_f1",
            "latency_median_s",
        ):
            assert math.isnan(s[column]), column
        assert "not measurable" in s["note"]

        lab = row(table, scenario=LABELLED)
        assert not lab["suppress"]
        assert lab["false_alarms"] == 1
        assert lab["benign_minutes"] == pytest.approx(20 / 60)
        assert math.isnan(lab["suppress_alarms"])
        assert lab["frame_recall"] == 1.0

        masq = row(table, scenario=MASQUERADE)
        assert not masq["suppress"]
        assert masq["false_alarms"] == 1
        assert masq["share_detected"] == 1.0
        assert math.isnan(masq["suppress_alarms_per_h"])

    # the labelled rows are the same with or without the suppress scenario
    alone, _ = field_metrics(
        scores[scores["scenario"] != SUPPRESS],
        {LABELLED: labelled, MASQUERADE: masquerade},
        events,
        1.0,
        0.95,
    )
    pd.testing.assert_frame_equal(
        alone, by_scenario[by_scenario["scenario"] != SUPPRESS].reset_index(drop=True)
    )


# ---- window F1 ---------------------------------------------------------------------------------


def test_best_threshold_f1_beside_the_f1_at_the_models_threshold() -> None:
    capture = f"{LABELLED}/DoS-1"
    windows = timeline(capture, [(i, i + 1) for i in range(6)], n_attack=[0, 0, 1, 1, 0, 1])
    scores = scored(LABELLED, windows, False).assign(
        score=[0.1, 0.2, 0.6, 0.7, 0.3, 0.8], threshold=0.75
    )
    by_scenario, by_capture = field_metrics(scores, {LABELLED: windows}, no_events(), 1.0, 0.95)
    r = row(by_scenario, model="m")
    # at 0.75 one attack window of three is flagged, no benign one: F1 = 2 / (2 + 2)
    assert r["window_f1"] == pytest.approx(0.5)
    assert r["window_f1"] == pytest.approx(metrics_table(scores)["f1"].iloc[0])
    assert r["window_f1_best"] == pytest.approx(1.0)  # 0.6 separates the classes
    assert r["threshold"] == 0.75
    assert row(by_capture, capture=capture)["window_f1_best"] == pytest.approx(1.0)


# ---- a detector that flags everything -----------------------------------------------------------


def test_a_detector_that_flags_everything_looks_bad() -> None:
    """Two 2-minute captures of 1-s windows, a 10-s attack in the middle of each (20 of every
    100 frames in its windows are attacks)."""
    tables, events = [], []
    for k in range(2):
        capture = f"{LABELLED}/DoS-{k}"
        spans = [(i, i + 0.999) for i in range(120)]
        n_attack = np.where((np.arange(120) >= 55) & (np.arange(120) < 65), 20, 0)
        tables.append(timeline(capture, spans, n_attack=n_attack))
        events.append((capture, 55.0, 64.9))
    windows = {LABELLED: pd.concat(tables, ignore_index=True)}
    attack = windows[LABELLED]["label"].to_numpy() == 1
    scores = pd.concat(
        [
            scored(LABELLED, windows[LABELLED], True, model="everything"),
            scored(LABELLED, windows[LABELLED], attack, model="exact"),
        ]
    )
    by_scenario, by_capture = field_metrics(
        scores, windows, events_table(*events), alarm_merge_s=1.0, confidence=0.95
    )
    everything, exact = row(by_scenario, model="everything"), row(by_scenario, model="exact")
    attack_share = (2 * 10 * 20) / (2 * 120 * 100)
    assert everything["frame_precision"] == pytest.approx(attack_share)
    assert everything["frame_recall"] == 1.0
    assert everything["time_in_alarm"] == pytest.approx(1.0)
    assert everything["share_detected"] == 1.0
    # before and after the attack in each capture: 4 alarms in 220 s of benign windows
    benign_h = 2 * 110 * 0.999 / 3600
    assert everything["false_alarms"] == 4
    assert everything["false_alarms_per_h"] == pytest.approx(4 / benign_h)
    assert everything["false_alarms_per_h"] > 50
    # the detector that flags the attack windows only
    assert exact["frame_precision"] == pytest.approx(0.2)
    assert exact["false_alarms"] == 0
    assert exact["time_in_alarm"] == pytest.approx(20 / 240)
    assert exact["share_detected"] == 1.0
    assert exact["latency_max_s"] == pytest.approx(55.999 - 55.0)
    # per capture: the same story, and the counts add up to the scenario's
    assert (by_capture.loc[by_capture["model"] == "everything", "false_alarms"] == 2).all()
    for column in ("frame_tp", "frame_fp", "frame_fn", "n_events", "false_alarms", "n_windows"):
        sums = by_capture.groupby("model")[column].sum()
        assert sums.to_dict() == by_scenario.set_index("model")[column].to_dict(), column
    assert list(by_capture.columns) == [*CAPTURE_KEYS, *METRIC_COLUMNS]
    assert list(by_scenario.columns) == ["model", "scenario", *METRIC_COLUMNS]


# ---- joining scores to windows -----------------------------------------------------------------


def test_scores_must_match_the_store_windows() -> None:
    windows = timeline(f"{LABELLED}/DoS-1", [(0, 1), (1, 2)], n_attack=[0, 1])
    scores = scored(LABELLED, windows, [1, 0])
    with pytest.raises(ValueError, match="no window"):
        window_decisions(scores.assign(window=[0, 5]), {LABELLED: windows})
    with pytest.raises(ValueError, match="labels differ"):
        window_decisions(scores.assign(label=[1, 1]), {LABELLED: windows})
    with pytest.raises(ValueError, match="scored twice"):
        window_decisions(pd.concat([scores, scores]), {LABELLED: windows})
