"""Fusion nodes: join two detectors' per-window outputs, fit every fusion method on validation,
score validation and test windows."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from kd_gat.fusion.inputs import KEYS, STATE_COLUMNS, FusionInputs, join_outputs
from kd_gat.fusion.methods import fit_fusion_methods
from kd_gat.fusion.policy import FusionPolicy
from kd_gat.params.evaluation import EvaluationParams
from kd_gat.params.fusion import FusionParams
from kd_gat.roster import FusionPair

log = logging.getLogger(__name__)


def fit_fusion(
    vgae_outputs: pd.DataFrame,
    gat_outputs: pd.DataFrame,
    params: dict[str, Any],
    evaluation: dict[str, Any],
    *,
    pair: FusionPair,
) -> tuple[pd.DataFrame, dict[str, Any], FusionPolicy]:
    """Fit DQN, weighted average and stacker on validation; score validation and test windows.

    Returns the per-window fused scores (`model` = `<pair name>.<method>`, with the method's
    validation threshold), a summary, and the DQN policy to deploy.
    """
    joined = join_outputs(vgae_outputs, gat_outputs)
    reference = joined.loc[(joined["split"] == "train") & (joined["label"] == 0), "vgae_score"]
    val = joined[joined["split"] == "val"]
    classes = sorted(val["label"].unique().tolist())
    if classes != [0, 1]:
        raise ValueError(
            f"fusion {pair.name}: the validation windows hold only label {classes} "
            f"({len(val)} windows); fusion learns when to trust each detector from attack and "
            "normal windows: hold out a training capture with attacks (graphs.val_captures) or "
            "spread validation over the attack periods (graphs.val_blocks)"
        )
    p = FusionParams.model_validate(params)
    quantile = EvaluationParams.model_validate(evaluation).normal_quantile
    methods = fit_fusion_methods(
        FusionInputs.from_joined(val), reference.to_numpy(), STATE_COLUMNS, p.arms, p.dqn, quantile
    )
    scored = joined[joined["split"] != "train"]
    inputs = FusionInputs.from_joined(scored)
    parts = [
        scored[[*KEYS, "label"]].assign(
            model=f"{pair.name}.{name}", score=method.score(inputs), threshold=method.threshold
        )
        for name, method in methods.items()
    ]
    summary = {
        "pair": f"{pair.vgae}+{pair.gat}",
        "validation_windows": len(val),
        "reference_windows": len(reference),
        "methods": {name: {"threshold": m.threshold, **m.info} for name, m in methods.items()},
    }
    log.info("fusion %s: %s", summary["pair"], summary["methods"])
    return pd.concat(parts, ignore_index=True), summary, methods["dqn"].policy
