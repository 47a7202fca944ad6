"""Field metrics: a detector judged in the units an intrusion-detection user reads (pure).

Window metrics (`kd_gat.metrics`) count windows. A user of a CAN intrusion detector asks other
questions: how many attack frames were caught, which attacks were seen and how fast, how often a
car raises an alarm on clean traffic, how long it spends in alarm. Everything here is computed
from three tables:

- *decisions* (`window_decisions`): one row per (model, test window), `flagged = score ≥
  threshold` (the window's threshold at its operating point), joined with the window's capture,
  time span `[start_time, end_time]` (timestamps of its first and last frame), `n_frames`,
  `n_attack_frames` and `label` from the test graph stores;
- *events* (`attack_events`): the attack frames of each capture grouped into events;
- the parameters `event_gap_s`, `alarm_merge_s`, `confidence`.

The algorithm, per (model, capture); a scenario's figures sum the counts over its captures
(medians and maxima are taken over the scenario's events):

1. **Frames under the window rule** (`frame_counts`): every frame takes its window's decision.
   TP = Σ `n_attack_frames` over flagged windows, FP = Σ (`n_frames` − `n_attack_frames`) over
   flagged windows, FN = Σ `n_attack_frames` over unflagged windows. Frames that lie in no window
   (a dropped tail, stride > window size) are not counted. Windows of one capture that overlap in
   time (stride < window size) would count frames twice: `check_disjoint` refuses them.
2. **Events** (`attack_events`): the capture's attack frames in time order; a frame less than
   `event_gap_s` after the previous attack frame continues its event, otherwise it starts one.
   An event spans `[first attack frame, last attack frame]`.
3. **Detection and latency** (`event_detection`): an event is detected when a flagged window of
   its capture intersects it (`window.start ≤ event.end` and `window.end ≥ event.start`). Latency
   = `end_time` of the first such window (in time order) − the event's start. With disjoint
   windows sorted by start, ends are sorted too, so the first flagged window ending at or after
   the event's start is found by one `np.searchsorted` over all (model, capture) groups at once
   (group number and time rank packed into one int64 key); the event is detected when that
   window also starts no later than the event ends.
4. **False alarms** (`false_alarms`): the flagged benign windows (label 0) of a capture in time
   order; one whose `start_time` − the previous one's `end_time` is below `alarm_merge_s`
   continues the previous alarm, otherwise it starts one. Benign time = Σ (`end_time` −
   `start_time`) over benign windows. Rate = alarms / benign hours; its one-sided upper bound at
   `confidence` is the exact Poisson one, `chi2.ppf(confidence, 2k + 2) / 2 / hours`
   (`alarm_rate`; 0 alarms in 1 h → 2.996/h).
5. **Time in alarm**: Σ duration of flagged windows / Σ duration of all windows.
6. **Window F1** at the model's threshold, and the best window F1 over all thresholds
   (`best_f1`, sklearn's precision-recall curve) as a diagnostic.
7. **Suppress scenarios** (name contains "suppress"): the attack removes frames, so every frame
   is labelled 0 and recall cannot be measured. Their windows stay out of the false-alarm
   columns; their alarms (merged the same way, over all their windows), alarm rate and time in
   alarm are reported in the `suppress_*` columns and `time_in_alarm`, recall-type columns are NaN
   and `note` says why. Masquerade scenarios are ordinary labelled scenarios.

Ratios without a denominator (no attack frame, no event, no benign time, nothing flagged) are
NaN, and `note` names the reason. Everything is vectorised: sorting, `np.searchsorted`, cumulative
sums and pandas group sums; the one per-group Python call is sklearn's precision-recall curve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import precision_recall_curve

from kd_gat.metrics import median_finite

CAPTURE_KEYS = ["model", "scenario", "capture"]
SCENARIO_KEYS = ["model", "scenario"]
EVENT_COLUMNS = [
    "capture",
    "scenario",
    "attack_kind",
    "event",
    "start_time",
    "end_time",
    "n_attack_frames",
]
DECISION_COLUMNS = [
    *CAPTURE_KEYS,
    "window",
    "start_time",
    "end_time",
    "n_frames",
    "n_attack_frames",
    "label",
    "score",
    "threshold",
    "flagged",
]
DETECTION_COLUMNS = [*CAPTURE_KEYS, "event", "start_time", "end_time", "detected", "latency_s"]
METRIC_COLUMNS = [
    "suppress",
    "threshold",
    "n_windows",
    "n_attack_windows",
    "n_flagged",
    "window_f1",
    "window_f1_best",
    "frame_tp",
    "frame_fp",
    "frame_fn",
    "frame_precision",
    "frame_recall",
    "frame_f1",
    "n_events",
    "n_detected",
    "share_detected",
    "latency_median_s",
    "latency_max_s",
    "benign_minutes",
    "false_alarms",
    "false_alarms_per_h",
    "false_alarms_per_h_upper",
    "time_in_alarm",
    "suppress_minutes",
    "suppress_alarms",
    "suppress_alarms_per_h",
    "suppress_alarms_per_h_upper",
    "note",
]
# counts that add up over the captures of a scenario
_ADDITIVE = [
    "n_windows",
    "n_attack_windows",
    "n_flagged",
    "window_tp",
    "window_fp",
    "window_fn",
    "frame_tp",
    "frame_fp",
    "frame_fn",
    "n_events",
    "n_detected",
    "benign_s",
    "alarms",
    "window_s",
    "flagged_s",
]
# not measurable in a suppress scenario (every frame labelled 0)
_RECALL_COLUMNS = [
    "window_f1",
    "window_f1_best",
    "frame_tp",
    "frame_fp",
    "frame_fn",
    "frame_precision",
    "frame_recall",
    "frame_f1",
    "n_events",
    "n_detected",
    "share_detected",
    "latency_median_s",
    "latency_max_s",
]
_FALSE_ALARM_COLUMNS = [
    "benign_minutes",
    "false_alarms",
    "false_alarms_per_h",
    "false_alarms_per_h_upper",
]
_SUPPRESS_COLUMNS = [
    "suppress_minutes",
    "suppress_alarms",
    "suppress_alarms_per_h",
    "suppress_alarms_per_h_upper",
]
SUPPRESS_NOTE = (
    "suppress scenario: the attack removes frames, so every frame is labelled 0 and recall "
    "(frames, windows, events, latency) is not measurable; its alarms are in suppress_*, "
    "outside the false-alarm pool"
)


def is_suppress(scenario: pd.Series | Sequence[str]) -> np.ndarray:
    """True for the scenarios whose name contains "suppress" (any case)."""
    return pd.Series(scenario, dtype=str).str.contains("suppress", case=False).to_numpy(bool)


_EVENT_DTYPES = {
    "capture": object,
    "scenario": object,
    "attack_kind": object,
    "event": np.int64,
    "start_time": np.float64,
    "end_time": np.float64,
    "n_attack_frames": np.int64,
}


def attack_events(frames: pd.DataFrame, gap_s: float) -> pd.DataFrame:
    """Attack frames (`attack == 1`) of each capture grouped into events (`EVENT_COLUMNS`).

    In time order within a capture, a frame less than `gap_s` seconds after the previous attack
    frame belongs to its event; otherwise it starts a new one. `event` numbers the events of a
    capture from 0; `start_time` / `end_time` are its first and last attack frame.
    """
    attack = frames.loc[frames["attack"].to_numpy() == 1]
    if attack.empty:
        return pd.DataFrame({c: pd.Series(dtype=_EVENT_DTYPES[c]) for c in EVENT_COLUMNS})
    capture = attack["capture"].astype(str).to_numpy(object)
    codes, _ = pd.factorize(capture)
    time = attack["timestamp"].to_numpy(np.float64)
    order = np.lexsort((time, codes))
    codes, time = codes[order], time[order]
    new = np.ones(len(time), dtype=bool)
    new[1:] = (codes[1:] != codes[:-1]) | (np.diff(time) >= gap_s)
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(time)) - 1
    event_capture = codes[first]
    capture_start = np.ones(len(first), dtype=bool)
    capture_start[1:] = event_capture[1:] != event_capture[:-1]
    position = np.arange(len(first))
    ordinal = position - np.maximum.accumulate(np.where(capture_start, position, 0))
    rows = order[first]
    return pd.DataFrame(
        {
            "capture": capture[rows],
            "scenario": attack["scenario"].astype(str).to_numpy(object)[rows],
            "attack_kind": attack["attack_kind"].astype(str).to_numpy(object)[rows],
            "event": ordinal.astype(np.int64),
            "start_time": time[first],
            "end_time": time[last],
            "n_attack_frames": (last - first + 1).astype(np.int64),
        }
    )


def window_decisions(
    window_scores: pd.DataFrame, windows: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Each scored test window with its store metadata and decision (`DECISION_COLUMNS`).

    `window_scores`: model, scenario, window, label, score, threshold (`window` = row of that
    scenario's window table in `windows`). `flagged = score ≥ threshold`. Sorted by model,
    scenario, capture, start time. Raises when a score has no window, a window is scored twice
    by one model, or a score's label differs from its window's.
    """
    meta = pd.concat(
        [
            pd.DataFrame(
                {
                    "scenario": str(scenario),
                    "window": np.arange(len(table), dtype=np.int64),
                    "capture": table["capture"].astype(str).to_numpy(object),
                    "start_time": table["start_time"].to_numpy(np.float64),
                    "end_time": table["end_time"].to_numpy(np.float64),
                    "n_frames": table["n_frames"].to_numpy(np.int64),
                    "n_attack_frames": table["n_attack_frames"].to_numpy(np.int64),
                    "store_label": table["label"].to_numpy(np.int64),
                }
            )
            for scenario, table in windows.items()
        ]
        or [pd.DataFrame(columns=["scenario", "window", "capture", "store_label"])]
    ).astype({"scenario": object, "window": np.int64})
    scores = window_scores[["model", "scenario", "window", "label", "score", "threshold"]].astype(
        {"model": object, "scenario": object, "window": np.int64}
    )
    twice = scores.duplicated(["model", "scenario", "window"])
    if twice.any():
        example = scores.loc[twice, ["model", "scenario", "window"]].head(3).to_dict("records")
        raise ValueError(f"windows scored twice by one model, e.g. {example}")
    table = scores.merge(meta, on=["scenario", "window"], how="left", validate="many_to_one")
    missing = table["capture"].isna()
    if missing.any():
        example = table.loc[missing, ["scenario", "window"]].head(3).to_dict("records")
        raise ValueError(f"window_scores rows with no window in the test stores, e.g. {example}")
    differ = table["label"].to_numpy(np.int64) != table["store_label"].to_numpy(np.int64)
    if differ.any():
        example = table.loc[differ, ["model", "scenario", "window"]].head(3).to_dict("records")
        raise ValueError(f"window labels differ from the test stores' labels, e.g. {example}")
    table = table.assign(
        label=table["label"].to_numpy(np.int64),
        flagged=table["score"].to_numpy(np.float64) >= table["threshold"].to_numpy(np.float64),
    )
    table = table.sort_values([*CAPTURE_KEYS, "start_time"], kind="mergesort")
    return table[DECISION_COLUMNS].reset_index(drop=True)


def _sorted_groups(table: pd.DataFrame, keys: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """`table` sorted by `keys` then start time, and each row's group number (0, 1, … in order)."""
    table = table.sort_values([*keys, "start_time"], kind="mergesort")
    group = table.groupby(list(keys), sort=False, observed=True).ngroup().to_numpy(np.int64)
    return table, group


def check_disjoint(windows: pd.DataFrame, keys: Sequence[str] = ("capture",)) -> None:
    """Raise a ValueError naming each capture whose windows overlap in time.

    Windows of one group of `keys` overlap when one starts strictly before the previous one (by
    start time) ends; with starts sorted, checking neighbours is enough.
    """
    if windows.empty:
        return
    table, group = _sorted_groups(windows, keys)
    start = table["start_time"].to_numpy(np.float64)
    end = table["end_time"].to_numpy(np.float64)
    overlap = (group[1:] == group[:-1]) & (start[1:] < end[:-1])
    if overlap.any():
        captures = pd.unique(table["capture"].to_numpy(object)[1:][overlap])
        raise ValueError(
            f"windows overlap in time in capture(s) {list(captures[:5])}"
            f"{' …' if len(captures) > 5 else ''}: frames would be counted twice "
            "(field metrics need stride >= window_size)"
        )


def frame_counts(decisions: pd.DataFrame) -> pd.DataFrame:
    """Frame TP, FP, FN per (model, scenario, capture) under the window rule.

    Every frame takes its window's decision: TP = Σ n_attack_frames over flagged windows,
    FP = Σ (n_frames − n_attack_frames) over flagged windows, FN = Σ n_attack_frames over
    unflagged windows. Frames in no window (a dropped tail, stride > window size) are not
    counted. Raises (`check_disjoint`) when windows of a capture overlap in time.
    """
    check_disjoint(decisions, CAPTURE_KEYS)
    return count_frames(decisions, decisions["flagged"].to_numpy(bool), CAPTURE_KEYS)


def count_frames(
    table: pd.DataFrame, flagged: np.ndarray, keys: Sequence[str], suffix: str = ""
) -> pd.DataFrame:
    """`frame_tp`, `frame_fp`, `frame_fn` (+ `suffix`) per group of `keys`: the frames of each
    row (`n_frames`, `n_attack_frames`: a window, or one ID's frames in a window) take the row's
    `flagged` decision."""
    attack = table["n_attack_frames"].to_numpy(np.int64)
    benign = table["n_frames"].to_numpy(np.int64) - attack
    counts = table[list(keys)].assign(
        **{
            f"frame_tp{suffix}": np.where(flagged, attack, 0),
            f"frame_fp{suffix}": np.where(flagged, benign, 0),
            f"frame_fn{suffix}": np.where(flagged, 0, attack),
        }
    )
    return counts.groupby(list(keys), sort=True, observed=True).sum().reset_index()


def event_detection(events: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, event) of the scenarios each model was scored on (`DETECTION_COLUMNS`).

    `detected`: a flagged window of the event's capture intersects `[start_time, end_time]`;
    `latency_s`: end of the first such window (in time order) − the event's start (NaN when
    missed). Raises when windows of a capture overlap in time.
    """
    check_disjoint(decisions, CAPTURE_KEYS)
    models = decisions[SCENARIO_KEYS].drop_duplicates()
    ev = events[["capture", "scenario", "event", "start_time", "end_time"]].astype(
        {"capture": object, "scenario": object}
    )
    ev = models.merge(ev, on="scenario", how="inner")
    ev = ev.sort_values([*CAPTURE_KEYS, "start_time"], kind="mergesort").reset_index(drop=True)
    flagged, _ = _sorted_groups(decisions[decisions["flagged"].to_numpy(bool)], CAPTURE_KEYS)
    # one group number per (model, scenario, capture) shared by both tables
    keys = pd.concat([ev[CAPTURE_KEYS], flagged[CAPTURE_KEYS]], ignore_index=True)
    group = keys.groupby(CAPTURE_KEYS, sort=True, observed=True).ngroup().to_numpy(np.int64)
    group_e, group_w = group[: len(ev)], group[len(ev) :]
    ev_start = ev["start_time"].to_numpy(np.float64)
    ev_end = ev["end_time"].to_numpy(np.float64)
    w_start = flagged["start_time"].to_numpy(np.float64)
    w_end = flagged["end_time"].to_numpy(np.float64)
    # exact integer keys (group, rank of time); disjoint windows in key order are in time order
    times = np.unique(np.concatenate([ev_start, w_end]))
    width = len(times) + 1
    key_w = group_w * width + np.searchsorted(times, w_end)
    order = np.argsort(key_w, kind="stable")
    key_w, group_w, w_start, w_end = key_w[order], group_w[order], w_start[order], w_end[order]
    key_e = group_e * width + np.searchsorted(times, ev_start)
    first = np.searchsorted(key_w, key_e, side="left")  # first window ending ≥ event start
    at = np.minimum(first, max(len(key_w) - 1, 0))
    if len(key_w):
        detected = (first < len(key_w)) & (group_w[at] == group_e) & (w_start[at] <= ev_end)
        latency = np.where(detected, w_end[at] - ev_start, np.nan)
    else:
        detected = np.zeros(len(ev), dtype=bool)
        latency = np.full(len(ev), np.nan)
    return ev.assign(detected=detected, latency_s=latency)[DETECTION_COLUMNS]


def alarm_starts(
    group: np.ndarray, start: np.ndarray, end: np.ndarray, merge_s: float
) -> np.ndarray:
    """True where a flagged window starts an alarm. The windows are sorted by group (e.g.
    capture) then start time; one starting less than `merge_s` after the previous flagged
    window of its group ends continues that alarm."""
    new = np.ones(len(group), dtype=bool)
    new[1:] = (group[1:] != group[:-1]) | (start[1:] - end[:-1] >= merge_s)
    return new


def false_alarms(decisions: pd.DataFrame, merge_s: float) -> pd.DataFrame:
    """Merged alarms and benign time per (model, scenario, capture), over benign windows.

    Benign windows are those with label 0. `benign_s` = Σ (end_time − start_time) over them;
    `alarms`: their flagged ones in time order, a window starting less than `merge_s` after the
    previous flagged benign window ends continuing its alarm.
    """
    benign, group = _sorted_groups(decisions[decisions["label"].to_numpy() == 0], CAPTURE_KEYS)
    start = benign["start_time"].to_numpy(np.float64)
    end = benign["end_time"].to_numpy(np.float64)
    flagged = benign["flagged"].to_numpy(bool)
    g = group[flagged]
    new = alarm_starts(g, start[flagged], end[flagged], merge_s)
    n_groups = int(group.max()) + 1 if len(group) else 0
    alarms = np.bincount(g[new], minlength=n_groups)
    benign_s = np.bincount(group, weights=end - start, minlength=n_groups)
    first = np.flatnonzero(np.append(True, group[1:] != group[:-1])) if len(group) else []
    table = benign.iloc[first][CAPTURE_KEYS].reset_index(drop=True)
    return table.assign(benign_s=benign_s, alarms=alarms.astype(np.int64))


def alarm_rate(
    alarms: np.ndarray | float, hours: np.ndarray | float, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Alarms per hour and its exact one-sided Poisson upper bound at `confidence`.

    Upper bound = chi2.ppf(confidence, 2k + 2) / 2 / hours for k alarms (0 alarms in 1 h at
    0.95 → 2.996/h). NaN where `hours` is 0.
    """
    k = np.asarray(alarms, dtype=np.float64)
    h = np.asarray(hours, dtype=np.float64)
    positive = h > 0
    safe = np.where(positive, h, 1.0)
    rate = np.where(positive, k / safe, np.nan)
    upper = np.where(positive, stats.chi2.ppf(confidence, 2 * k + 2) / 2 / safe, np.nan)
    return rate, upper


def best_f1(labels: np.ndarray, scores: np.ndarray, live: np.ndarray | None = None) -> float:
    """Highest window F1 over all thresholds (sklearn's precision-recall curve); NaN without an
    attack window. `live`: the windows that may raise an alarm (not warming up: finite
    threshold); the others rank below every live window, so no threshold but the lowest flags
    them."""
    labels = np.asarray(labels).astype(np.int64)
    if not labels.any():
        return float("nan")
    scores = np.asarray(scores, dtype=np.float64)
    if live is not None and np.any(live) and not np.all(live):
        live = np.asarray(live, dtype=bool)
        scores = np.where(live, scores, scores[live].min() - 1.0)
    precision, recall, _ = precision_recall_curve(labels, scores)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return float(f1.max())


def _ratio(num: pd.Series, den: pd.Series) -> np.ndarray:
    n, d = num.to_numpy(np.float64), den.to_numpy(np.float64)
    return np.divide(n, d, out=np.full(len(d), np.nan), where=d > 0)


def frame_scores(
    tp: pd.Series, fp: pd.Series, fn: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame precision, recall and F1 from frame counts; NaN without a denominator (F1: without
    an attack frame)."""
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return _ratio(tp, tp + fp), _ratio(tp, tp + fn), np.where((tp + fn).to_numpy() > 0, f1, np.nan)


def _capture_counts(
    decisions: pd.DataFrame, detections: pd.DataFrame, merge_s: float
) -> pd.DataFrame:
    """The additive counts (`_ADDITIVE`) per (model, scenario, capture)."""
    flagged = decisions["flagged"].to_numpy(bool)
    attack = decisions["label"].to_numpy(np.int64) == 1
    duration = (decisions["end_time"] - decisions["start_time"]).to_numpy(np.float64)
    windows = decisions[CAPTURE_KEYS].assign(
        n_windows=1,
        n_attack_windows=attack.astype(np.int64),
        n_flagged=flagged.astype(np.int64),
        window_tp=(flagged & attack).astype(np.int64),
        window_fp=(flagged & ~attack).astype(np.int64),
        window_fn=(~flagged & attack).astype(np.int64),
        window_s=duration,
        flagged_s=np.where(flagged, duration, 0.0),
    )
    counts = windows.groupby(CAPTURE_KEYS, sort=True, observed=True).sum().reset_index()
    events = (
        detections.assign(n_events=1, n_detected=detections["detected"].astype(np.int64))
        .groupby(CAPTURE_KEYS, sort=True, observed=True)[["n_events", "n_detected"]]
        .sum()
        .reset_index()
    )
    counts = counts.merge(frame_counts(decisions), on=CAPTURE_KEYS, how="left")
    counts = counts.merge(false_alarms(decisions, merge_s), on=CAPTURE_KEYS, how="left")
    # a capture whose events lie in no window (too short for one) still counts its events
    counts = counts.merge(events, on=CAPTURE_KEYS, how="outer")
    return counts.fillna({c: 0 for c in _ADDITIVE}).sort_values(CAPTURE_KEYS)


def _summarise(
    counts: pd.DataFrame,
    decisions: pd.DataFrame,
    detections: pd.DataFrame,
    keys: list[str],
    confidence: float,
) -> pd.DataFrame:
    """Metrics per group of `keys` (`METRIC_COLUMNS`) from the per-capture counts."""
    table = counts.groupby(keys, sort=True, observed=True)[_ADDITIVE].sum().reset_index()
    thresholds = decisions.groupby(SCENARIO_KEYS, sort=True)["threshold"].agg(median_finite)
    table = table.merge(thresholds.reset_index(), on=SCENARIO_KEYS, how="left")
    latency = (
        detections[detections["detected"].to_numpy(bool)]
        .groupby(keys, sort=True, observed=True)["latency_s"]
        .agg(latency_median_s="median", latency_max_s="max")
        .reset_index()
    )
    best = (
        decisions.groupby(keys, sort=True, observed=True)[["label", "score", "threshold"]]
        .apply(
            lambda g: best_f1(
                g["label"].to_numpy(), g["score"].to_numpy(), np.isfinite(g["threshold"].to_numpy())
            )
        )
        .rename("window_f1_best")
        .reset_index()
    )
    table = table.merge(latency, on=keys, how="left").merge(best, on=keys, how="left")
    tp, fp, fn = table["frame_tp"], table["frame_fp"], table["frame_fn"]
    frame_precision, frame_recall, frame_f1 = frame_scores(tp, fp, fn)
    window_f1 = _ratio(
        2 * table["window_tp"], 2 * table["window_tp"] + table["window_fp"] + table["window_fn"]
    )
    rate, upper = alarm_rate(table["alarms"], table["benign_s"] / 3600, confidence)
    suppress = is_suppress(table["scenario"])
    out = table[keys].assign(
        suppress=suppress,
        threshold=table["threshold"],
        n_windows=table["n_windows"].astype(np.int64),
        n_attack_windows=table["n_attack_windows"].astype(np.int64),
        n_flagged=table["n_flagged"].astype(np.int64),
        window_f1=np.where(table["n_attack_windows"] > 0, window_f1, np.nan),
        window_f1_best=table["window_f1_best"],
        frame_tp=tp,
        frame_fp=fp,
        frame_fn=fn,
        frame_precision=frame_precision,
        frame_recall=frame_recall,
        frame_f1=frame_f1,
        n_events=table["n_events"],
        n_detected=table["n_detected"],
        share_detected=_ratio(table["n_detected"], table["n_events"]),
        latency_median_s=table["latency_median_s"],
        latency_max_s=table["latency_max_s"],
        benign_minutes=table["benign_s"] / 60,
        false_alarms=table["alarms"],
        false_alarms_per_h=rate,
        false_alarms_per_h_upper=upper,
        time_in_alarm=_ratio(table["flagged_s"], table["window_s"]),
    )
    for column, source in zip(_SUPPRESS_COLUMNS, _FALSE_ALARM_COLUMNS, strict=True):
        out[column] = out[source].where(suppress)
    blanked = _RECALL_COLUMNS + _FALSE_ALARM_COLUMNS
    out[blanked] = out[blanked].astype(np.float64)
    out.loc[suppress, blanked] = np.nan
    out["note"] = _notes(suppress, table)
    return out[[*keys, *METRIC_COLUMNS]].reset_index(drop=True)


def _notes(suppress: np.ndarray, table: pd.DataFrame) -> np.ndarray:
    """Why a row's NaN figures are NaN, "; "-separated ("" when none is)."""
    events, detected = table["n_events"].to_numpy(), table["n_detected"].to_numpy()
    attack_frames = (table["frame_tp"] + table["frame_fn"]).to_numpy()
    labelled = ~suppress
    reasons = [
        (suppress, SUPPRESS_NOTE),
        (labelled & (events == 0), "no attack event: no detection share"),
        (labelled & (events > 0) & (detected == 0), "no event detected: no latency"),
        (labelled & (attack_frames == 0), "no attack frame in a window: no frame recall or F1"),
        (labelled & (table["benign_s"].to_numpy() <= 0), "no benign time: no false-alarm rate"),
        (table["window_s"].to_numpy() <= 0, "no window time: no time in alarm"),
    ]
    note = np.full(len(table), "", dtype=object)
    for mask, text in reasons:
        note = np.where(mask & (note != ""), note + "; " + text, np.where(mask, text, note))
    return note


def field_metrics(
    window_scores: pd.DataFrame,
    windows: Mapping[str, pd.DataFrame],
    events: pd.DataFrame,
    alarm_merge_s: float,
    confidence: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Field metrics per (model, scenario) and per (model, scenario, capture).

    `window_scores`: the evaluation's test-window scores; `windows`: scenario → its test store's
    window table; `events`: `attack_events` of the test captures. Both tables have the key
    columns then `METRIC_COLUMNS`; every capture with a window or an event is listed. Raises when
    windows of a capture overlap in time.
    """
    decisions = window_decisions(window_scores, windows)
    detections = event_detection(events, decisions)
    counts = _capture_counts(decisions, detections, alarm_merge_s)
    return (
        _summarise(counts, decisions, detections, SCENARIO_KEYS, confidence),
        _summarise(counts, decisions, detections, CAPTURE_KEYS, confidence),
    )
