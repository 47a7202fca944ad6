"""What fusion reads: both detectors' per-window outputs joined into one row per window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

KEYS = ["split", "scenario", "window"]
VGAE_STATE = ["vgae_feature", "vgae_can_id", "vgae_edge", "vgae_mu_norm", "vgae_mu_std"]
GAT_STATE = ["gat_p", "gat_entropy", "gat_emb_mean", "gat_emb_std", "gat_emb_norm"]
STATE_COLUMNS = VGAE_STATE + GAT_STATE


@dataclass
class FusionInputs:
    """Detector outputs of a set of windows: raw state columns, VGAE score, GAT p, labels."""

    raw: np.ndarray
    vgae_score: np.ndarray
    gat_p: np.ndarray
    y: np.ndarray

    @classmethod
    def from_joined(cls, joined: pd.DataFrame) -> FusionInputs:
        # copies: pandas hands out read-only views (copy-on-write), which torch cannot share
        return cls(
            raw=joined[STATE_COLUMNS].to_numpy(np.float64, copy=True),
            vgae_score=joined["vgae_score"].to_numpy(np.float64, copy=True),
            gat_p=joined["gat_p"].to_numpy(np.float64, copy=True),
            y=joined["label"].to_numpy(np.int64, copy=True),
        )

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            torch.as_tensor(self.raw, dtype=torch.float32),
            torch.as_tensor(self.vgae_score, dtype=torch.float32),
            torch.as_tensor(self.gat_p, dtype=torch.float32),
        )


def join_outputs(vgae_outputs: pd.DataFrame, gat_outputs: pd.DataFrame) -> pd.DataFrame:
    """One row per window with both detectors' outputs; the two must cover the same windows."""
    vgae = vgae_outputs[[*KEYS, "label", "vgae_score", *VGAE_STATE]]
    gat = gat_outputs[[*KEYS, "label", *GAT_STATE]].rename(columns={"label": "gat_label"})
    joined = vgae.merge(gat, on=KEYS, how="outer", validate="one_to_one", indicator=True)
    if (joined["_merge"] != "both").any() or (joined["label"] != joined["gat_label"]).any():
        raise ValueError("the VGAE and GAT outputs do not cover the same windows")
    return joined.drop(columns=["_merge", "gat_label"])
