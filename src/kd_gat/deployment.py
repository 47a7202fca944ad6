"""Which detector inference and the export deploy by default: the one validation chooses.

`inference.detector: validated` (globals.yml, the default) deploys what `choose_deployment` picked
on the run's validation windows (`deployment_choice.json`, written by the evaluation stage); a
roster name there (or `--params inference_detector=NAME`) deploys that one instead.

The choice reads no test window: every deployable candidate (each detector, and each fusion
pair's alarm-level OR of its two detectors) decides the training car's held-out validation
windows at its zero-shot threshold (the calibration stage's, chosen there too); a candidate that
flags every window or none is not eligible, whatever its score. Among the eligible, the highest
validation MCC wins, and within `tolerance` of it the fewest parameters (the project's promise is
a small detector): a student that validates as well as its teacher is deployed instead.

Validation is the training car's; it cannot tell which detector carries to another car. The
one label-free evidence about the profiled cars is the attacks injected into their recordings
(`kd_gat.injection`, `injected_detection`): a candidate that detects less than
`min_injected_recall` of some injected attack on some profiled car, at that car's threshold, is
passed over while another candidate detects them all (measured: the VGAEs miss injected DoS,
spoofing and replay on car C, where they miss the real attacks too). Where no candidate does,
the gate is dropped and said.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from kd_gat import roster
from kd_gat.injection import weakest
from kd_gat.metrics import binary_metrics

VALIDATED = roster.VALIDATED
RULE = (
    "highest MCC on the validation windows (the training car's held-out captures) at the "
    "zero-shot threshold; within {tolerance} of it, the fewest parameters; a candidate that "
    "flags every validation window or none is not eligible; while any candidate detects at "
    "least {min_recall} of each attack injected into each profiled car's recording at the "
    "car's threshold, those that do not are passed over"
)


def _decisions(
    outputs: Mapping[str, pd.DataFrame], thresholds: pd.Series
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Validation labels and each detector's decisions, on the windows every detector scored."""
    val = {
        name: table[table["split"] == "val"].sort_values("window").reset_index(drop=True)
        for name, table in outputs.items()
    }
    windows = [t["window"].to_numpy() for t in val.values()]
    if any(not np.array_equal(w, windows[0]) for w in windows):
        raise ValueError("the detectors' validation outputs cover different windows")
    labels = next(iter(val.values()))["label"].to_numpy(np.int64)
    flagged = {
        name: t["score"].to_numpy(np.float64) >= float(thresholds[name]) for name, t in val.items()
    }
    return labels, flagged


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table's rows as JSON-able records (None where a value is missing)."""
    return table.astype(object).where(table.notna(), None).to_dict("records")


def choose_deployment(
    outputs: Mapping[str, pd.DataFrame],
    zero_shot_thresholds: pd.DataFrame,
    model_sizes: pd.DataFrame,
    tolerance: float,
    injected: pd.DataFrame | None = None,
    min_recall: float = 0.5,
) -> dict[str, Any]:
    """The deployment choice (`detector`, `rule`, `why`, every `candidates` row) from each
    detector's window outputs (`split`, `window`, `label`, `score`) and, when given, each
    candidate's detection of the injected attacks (`injected_detection`)."""
    thresholds = zero_shot_thresholds.set_index("model")["threshold"]
    sizes = model_sizes.set_index("model")["parameters"]
    labels, flagged = _decisions(outputs, thresholds)
    rows = []
    for name in roster.deployable_names():
        members = roster.deployed_members(name)
        if not set(members) <= set(flagged):
            continue
        decision = np.logical_or.reduce([flagged[m] for m in members])
        metrics = binary_metrics(labels, decision.astype(np.float64), 0.5)
        share = float(decision.mean()) if len(decision) else 0.0
        rows.append(
            {
                "detector": name,
                "mcc": float(metrics["mcc"]),
                "f1": float(metrics["f1"]),
                "flagged_share": share,
                "parameters": int(sum(int(sizes[m]) for m in members)),
                "eligible": 0.0 < share < 1.0,
            }
        )
    table = pd.DataFrame(rows)
    low = weakest(injected) if injected is not None else None
    if low is not None and len(low):
        table = table.merge(low, left_on="detector", right_on="model", how="left").drop(
            columns="model"
        )
    else:
        table = table.assign(injected_recall=np.nan, injected_weakest=None)
    eligible = table[table["eligible"]]
    passes = eligible["injected_recall"] >= min_recall
    gated = bool(passes.any())
    if gated:
        eligible = eligible[passes]
    rule = RULE.format(tolerance=tolerance, min_recall=min_recall)
    if eligible.empty:  # a report, not a failed run: `resolve` refuses to deploy it
        return {
            "detector": None,
            "rule": rule,
            "why": "no deployable detector separates the validation windows (each flags all or "
            "none): nothing can be chosen by validation",
            "validation_windows": len(labels),
            "candidates": _records(table),
        }
    best = eligible["mcc"].max()
    close = eligible[eligible["mcc"] >= best - tolerance]
    chosen = close.sort_values(["parameters", "mcc"], ascending=[True, False]).iloc[0]
    top = eligible.sort_values("mcc", ascending=False).iloc[0]
    why = (
        f"{chosen['detector']}: validation MCC {chosen['mcc']:.3f} at its zero-shot threshold "
        f"({chosen['flagged_share']:.1%} of {len(labels)} validation windows flagged), "
        f"{chosen['parameters']:,} parameters"
    )
    if gated:
        why += (
            f"; detects at least {chosen['injected_recall']:.0%} of each injected attack on "
            "every profiled car"
        )
    elif table["injected_recall"].notna().any():
        why += f"; no candidate detects {min_recall:.0%} of each injected attack: not gated"
    if top["detector"] != chosen["detector"]:
        why += (
            f"; {top['detector']} validates at MCC {top['mcc']:.3f}, within {tolerance} but with "
            f"{top['parameters']:,} parameters"
        )
    passed_over = (
        table[table["eligible"] & (table["injected_recall"] < min_recall)] if gated else []
    )
    if len(passed_over):
        why += "; passed over for missing injected attacks: " + ", ".join(
            f"{r.detector} ({r.injected_recall:.0%} of {r.injected_weakest})"
            for r in passed_over.sort_values("mcc", ascending=False).itertuples()
        )
    return {
        "detector": str(chosen["detector"]),
        "rule": rule,
        "why": why,
        "validation_windows": len(labels),
        "candidates": _records(table.sort_values("mcc", ascending=False)),
    }


def deployed_name(detector: str, members: Iterable[str]) -> str:
    """The roster name `inference.detector` deploys, given the models the catalog's
    `inference_models` loaded for it (for `validated`, the evaluation stage's choice)."""
    return roster.deployable_for(list(members)) if detector == VALIDATED else detector


def resolve(detector: str, choice: Mapping[str, Any] | None) -> str:
    """The roster name `inference.detector` deploys: itself, or for `validated` the choice."""
    if detector != VALIDATED:
        return detector
    if choice and "detector" in choice and choice["detector"] is None:
        raise ValueError(f"inference.detector is 'validated' but {choice['why']}; name one")
    if not choice or "detector" not in choice:
        raise ValueError(
            "inference.detector is 'validated' but no deployment choice exists for this dataset: "
            "run the evaluation stage (`kedro run`) first, or name a detector with "
            "`--params inference_detector=NAME`"
        )
    return str(choice["detector"])
