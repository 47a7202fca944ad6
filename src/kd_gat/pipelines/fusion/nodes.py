"""Fusion nodes: join two detectors' per-window outputs, fit every fusion method on validation,
score validation and test windows."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from kd_gat.fusion.methods import FusionInputs, fit_fusion_methods
from kd_gat.models.fusion import FusionPolicy
from kd_gat.params.evaluation import EvaluationParams, FusionParams

log = logging.getLogger(__name__)

KEYS = ["split", "scenario", "window"]
VGAE_STATE = ["vgae_feature", "vgae_can_id", "vgae_edge", "vgae_mu_norm", "vgae_mu_std"]
GAT_STATE = ["gat_p", "gat_entropy", "gat_emb_mean", "gat_emb_std", "gat_emb_norm"]
STATE_COLUMNS = VGAE_STATE + GAT_STATE


def join_outputs(vgae_outputs: pd.DataFrame, gat_outputs: pd.DataFrame) -> pd.DataFrame:
    """One row per window with both detectors' outputs; the two must cover the same windows."""
    vgae = vgae_outputs[[*KEYS, "label", "vgae_score", *VGAE_STATE]]
    gat = gat_outputs[[*KEYS, "label", *GAT_STATE]].rename(columns={"label": "gat_label"})
    joined = vgae.merge(gat, on=KEYS, how="outer", validate="one_to_one", indicator=True)
    if (joined["_merge"] != "both").any() or (joined["label"] != joined["gat_label"]).any():
        raise ValueError("the VGAE and GAT outputs do not cover the same windows")
    return joined.drop(columns=["_merge", "gat_label"])


def fusion_inputs(joined: pd.DataFrame) -> FusionInputs:
    return FusionInputs(
        raw=joined[STATE_COLUMNS].to_numpy(np.float64),
        vgae_score=joined["vgae_score"].to_numpy(np.float64),
        gat_p=joined["gat_p"].to_numpy(np.float64),
        y=joined["label"].to_numpy(np.int64),
    )


def fit_fusion(
    vgae_outputs: pd.DataFrame,
    gat_outputs: pd.DataFrame,
    job: dict[str, Any],
    params: dict[str, Any],
    evaluation: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any], FusionPolicy]:
    """Fit DQN, weighted average and stacker on validation; score validation and test windows.

    Returns the per-window fused scores (`model` = `<job name>.<method>`, with the method's
    validation threshold), a summary, and the DQN policy to deploy.
    """
    joined = join_outputs(vgae_outputs, gat_outputs)
    pair = f"{vgae_outputs['model'].iloc[0]}+{gat_outputs['model'].iloc[0]}"
    reference = joined.loc[(joined["split"] == "train") & (joined["label"] == 0), "vgae_score"]
    val = joined[joined["split"] == "val"]
    p = FusionParams.model_validate(params)
    quantile = EvaluationParams.model_validate(evaluation).normal_quantile
    methods = fit_fusion_methods(
        fusion_inputs(val), reference.to_numpy(), STATE_COLUMNS, p.arms, p.dqn, quantile
    )
    scored = joined[joined["split"] != "train"]
    inputs = fusion_inputs(scored)
    parts = [
        scored[[*KEYS, "label"]].assign(
            model=f"{job['name']}.{name}", score=method.score(inputs), threshold=method.threshold
        )
        for name, method in methods.items()
    ]
    summary = {
        "pair": pair,
        "validation_windows": len(val),
        "reference_windows": len(reference),
        "methods": {name: {"threshold": m.threshold, **m.info} for name, m in methods.items()},
    }
    log.info("fusion %s: %s", pair, summary["methods"])
    return pd.concat(parts, ignore_index=True), summary, methods["dqn"].policy
