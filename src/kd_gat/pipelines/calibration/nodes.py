"""Calibration nodes: each detector scores the profile recordings (windows and nodes) and gets,
per car, the threshold for the false-alarm budget and the node threshold that implicates an ID;
and its zero-shot thresholds (training car's validation windows) for every other window.

The recordings are windowed like every capture, reading their own matched profile; a window in
a recording's first `warmup_s` sets no threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from kd_gat import roster
from kd_gat.fingerprint import check_same
from kd_gat.graphs.store import GraphStore
from kd_gat.injection import detection
from kd_gat.localisation import node_threshold
from kd_gat.operating_points import ZERO_SHOT_COLUMNS, zero_shot_threshold
from kd_gat.params.evaluation import EvaluationParams
from kd_gat.params.profiles import ProfilesParams
from kd_gat.params.scoring import ScoringParams
from kd_gat.profiles import THRESHOLD_COLUMNS, calibrate, recording_minutes, warmup_windows
from kd_gat.roster import Detector
from kd_gat.scoring import detector_outputs, node_outputs


def _score_recordings(
    score: Callable[..., dict[str, pd.DataFrame]],
    model: nn.Module,
    calibration_graphs: dict[str, GraphStore],
    params: dict[str, Any],
    profiles_params: dict[str, Any],
    detector: Detector,
    columns: list[str],
) -> pd.DataFrame:
    """`score` (`detector_outputs` or `node_outputs`) over every profile recording, as one
    table of `columns`: each row with its `model`, `vehicle` and `warmup` (its window ends in the
    recording's first `warmup_s`: it sets no threshold)."""
    for vehicle, store in calibration_graphs.items():
        name = f"calibration_graphs[{vehicle}]"
        check_same(f"{detector.name}.model", model.fingerprint, name, store.fingerprint)
    outputs = score(model, calibration_graphs, ScoringParams.model_validate(params).batch_size)
    warmup_s = ProfilesParams.model_validate(profiles_params).warmup_s
    parts = [
        out.assign(
            model=detector.name,
            vehicle=vehicle,
            window=out["window"].to_numpy(np.int64),
            warmup=warmup_windows(calibration_graphs[vehicle].windows, warmup_s)[
                out["window"].to_numpy(np.int64)
            ],
        )[columns]
        for vehicle, out in outputs.items()
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _score_windows(
    model: nn.Module,
    graphs: dict[str, GraphStore],
    params: dict[str, Any],
    profiles_params: dict[str, Any],
    detector: Detector,
    columns: list[str],
) -> pd.DataFrame:
    """`_score_recordings` of the detector's window scores, persisted over its
    `scoring.persistence` windows in a row."""
    steps = ScoringParams.model_validate(params).steps(detector.kind)
    score = partial(detector_outputs, persistence=steps)
    return _score_recordings(score, model, graphs, params, profiles_params, detector, columns)


def score_profiles(
    model: nn.Module,
    calibration_graphs: dict[str, GraphStore],
    params: dict[str, Any],
    profiles_params: dict[str, Any],
    *,
    detector: Detector,
) -> pd.DataFrame:
    """The detector's score on every window of every profile recording (`model`, `vehicle`,
    `window`, `score` (persisted: `scoring.persistence`), `raw_score`, `warmup`)."""
    columns = ["model", "vehicle", "window", "score", "raw_score", "warmup"]
    table = _score_windows(model, calibration_graphs, params, profiles_params, detector, columns)
    return table.astype({"score": np.float64}) if len(table) else table


def score_profile_nodes(
    model: nn.Module,
    calibration_graphs: dict[str, GraphStore],
    params: dict[str, Any],
    profiles_params: dict[str, Any],
    *,
    detector: Detector,
) -> pd.DataFrame:
    """The detector's node scores on every profile recording (`model`, `vehicle`, `window`,
    `node`, `node_score`, `warmup`): what an implicated node scores above on the car's clean
    traffic."""
    columns = ["model", "vehicle", "window", "node", "node_score", "warmup"]
    return _score_recordings(
        node_outputs, model, calibration_graphs, params, profiles_params, detector, columns
    )


def score_injected(
    model: nn.Module,
    injected_graphs: dict[str, GraphStore],
    params: dict[str, Any],
    profiles_params: dict[str, Any],
    *,
    detector: Detector,
) -> pd.DataFrame:
    """The detector's score on every window of the recordings with attacks injected (`model`,
    `vehicle`, `kind`, `window`, `label`, `score`; `kd_gat.injection`)."""
    columns = ["model", "vehicle", "window", "label", "score", "warmup"]
    table = _score_windows(model, injected_graphs, params, profiles_params, detector, columns)
    kind = np.empty(len(table), dtype=object)
    windows = table["window"].to_numpy(np.int64)
    for vehicle, rows in table.groupby("vehicle").indices.items():
        store_kinds = injected_graphs[vehicle].windows["attack_kind"].astype(str).to_numpy()
        kind[rows] = store_kinds[windows[rows]]
    return table.assign(kind=kind.astype(str), label=table["label"].astype(np.int64)).astype(
        {"score": np.float64}
    )[["model", "vehicle", "kind", "window", "label", "score"]]


def injected_detection(thresholds: pd.DataFrame, **injected_outputs: pd.DataFrame) -> pd.DataFrame:
    """`injected_detection`: each deployable candidate's detection of the injected attacks on
    every profiled car at the car's threshold (`kd_gat.injection.detection`)."""
    outputs = [t for _, t in sorted(injected_outputs.items()) if len(t)]
    table = pd.concat(outputs, ignore_index=True) if outputs else pd.DataFrame()
    candidates = {name: roster.deployed_members(name) for name in roster.deployable_names()}
    return detection(table, thresholds, candidates)


def calibrate_nodes(params: dict[str, Any], **node_outputs: pd.DataFrame) -> pd.DataFrame:
    """`profile_node_thresholds`: per detector and profile, the `node_quantile` of its node
    scores on the profile's recording after warm-up (columns model, vehicle, node_threshold,
    nodes)."""
    q = EvaluationParams.model_validate(params).node_quantile
    rows = [
        {
            "model": name,
            "vehicle": vehicle,
            "node_threshold": node_threshold(group["node_score"].to_numpy(), q),
            "nodes": len(group),
        }
        for name, outputs in sorted(node_outputs.items())
        for vehicle, group in outputs[~outputs["warmup"].astype(bool)].groupby("vehicle")
    ]
    return pd.DataFrame(rows, columns=["model", "vehicle", "node_threshold", "nodes"])


def calibrate_detectors(
    profiles: dict[str, Any],
    calibration_graphs: dict[str, GraphStore],
    params: dict[str, Any],
    **profile_outputs: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each detector's threshold per profile for the false-alarm budget over the calibrating
    windows after warm-up (the budget counts the minutes those windows cover, not the parts of
    the recordings kept for distillation), as a table and inside the profiles (with the
    detector's score quantiles on those windows)."""
    p = ProfilesParams.model_validate(params)
    rows = []
    calibrated = {v: dict(profile, detectors={}) for v, profile in profiles["profiles"].items()}
    covered = {v: recording_minutes(store.windows) for v, store in calibration_graphs.items()}
    for name, outputs in sorted(profile_outputs.items()):
        settled = outputs[~outputs["warmup"].astype(bool)]
        for vehicle, group in settled.groupby("vehicle", sort=True):
            scores = group["score"].to_numpy()
            row = calibrate(name, vehicle, scores, covered[vehicle], p.false_alarms_per_hour)
            rows.append(row)
            quantiles = {str(q): float(np.quantile(scores, q)) for q in (0.5, 0.9, 0.99, 0.999)}
            calibrated[vehicle]["detectors"][name] = {
                "threshold": row["threshold"],
                "score_quantiles": quantiles,
            }
    table = pd.DataFrame(rows, columns=THRESHOLD_COLUMNS)
    return table, {"profiles": calibrated, "refused": profiles["refused"]}


NODES_SUFFIX = "__nodes"


def zero_shot_thresholds(params: dict[str, Any], **outputs: pd.DataFrame) -> pd.DataFrame:
    """`zero_shot_thresholds` (model, threshold, node_threshold): each detector's operating point
    where no profile applies, from its validation outputs (`<name>`: window outputs,
    `<name>__nodes`: node outputs; `kd_gat.operating_points.zero_shot_threshold`)."""
    p = EvaluationParams.model_validate(params)
    rows = [
        (
            name,
            *zero_shot_threshold(
                table, outputs[name + NODES_SUFFIX], p.normal_quantile, p.node_quantile
            ),
        )
        for name, table in sorted(outputs.items())
        if not name.endswith(NODES_SUFFIX)
    ]
    return pd.DataFrame(rows, columns=ZERO_SHOT_COLUMNS)
