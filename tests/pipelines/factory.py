"""Small inputs for the node unit tests of the later stages.

- `small_frames`: a hand-made `frames` table (two training captures, two test scenarios, attack
  blocks made of an injected CAN ID, unknown IDs in one test capture);
- `untrained`: a detector of a kind built for a graph store, weights from a fixed seed;
- `detector_outputs_table` / `fusion_scores_table`: per-window tables shaped like the scoring
  and fusion stages' outputs, with scores that separate the classes only partly.

Graph stores are built from `small_frames` by the graphs stage itself (fixture `small_graphs` in
conftest.py), so they are real `GraphStore`s with real window tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from kd_gat.fusion.inputs import GAT_STATE, VGAE_STATE
from kd_gat.models import build_model
from kd_gat.training.datamodule import data_sizes
from tests.graphs.factory import capture, frames
from tests.synthetic import architecture

GRAPHS = {
    "window_size": 10,
    "stride": 10,
    "min_attack_frames": 1,
    "tail_policy": "drop",
    "val_fraction": 0.25,
    "val_blocks": 1,
}
KNOWN_IDS = [0x100 + 16 * i for i in range(12)]
INJECTED_ID = 0x000
UNKNOWN_ID = 0x7FF  # never seen in training captures: the OOV bucket
TEST_CAPTURES = {
    "test_01_known_vehicle_known_attack": "test_01_known_vehicle_known_attack/DoS-3",
    "test_04_unknown_vehicle_unknown_attack": "test_04_unknown_vehicle_unknown_attack/sys-4",
}
ARCHITECTURES = {
    "gat": {"hidden": 8, "heads": 2, "layers": 1, "embed_dim": 4},
    "vgae": {"hidden": 8, "heads": 2, "layers": 1, "embed_dim": 4, "latent": 4},
}


def _capture(name: str, split: str, n: int, attack_every: int | None, rng, **kw) -> pd.DataFrame:
    can_id = rng.choice(KNOWN_IDS, size=n)
    attack = np.zeros(n, np.int8)
    if attack_every:
        for start in range(attack_every // 2, n, attack_every):
            attack[start : start + 4] = 1
        can_id[attack == 1] = INJECTED_ID
    kind = "none" if attack_every is None else kw.pop("attack_kind", "DoS")
    return capture(name, split, can_id, attack=attack, attack_kind=kind, **kw)


def small_frames(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    test_04 = _capture(
        TEST_CAPTURES["test_04_unknown_vehicle_unknown_attack"], "test", 150, 30, rng
    )
    test_04.loc[::7, "can_id"] = UNKNOWN_ID
    return frames(
        _capture("train_01_attack_free/normal-1", "train_attack_free", 320, None, rng),
        _capture("train_02_with_attacks/DoS-1", "train_with_attacks", 320, 40, rng),
        _capture(TEST_CAPTURES["test_01_known_vehicle_known_attack"], "test", 200, 50, rng),
        test_04,
    )


def untrained(kind: str, store, seed: int = 0, **architecture_keys) -> nn.Module:
    """A detector of `kind` sized for `store`, in eval mode, carrying the store's fingerprint
    (as a model trained on it would)."""
    torch.manual_seed(seed)
    keys = {**ARCHITECTURES[kind], **architecture_keys}
    model = build_model(kind, architecture(kind, **keys), **data_sizes(store))
    model.fingerprint = getattr(store, "fingerprint", "")
    return model.eval()


def _scenarios(n_train: int, n_val: int, tests: dict[str, int]) -> pd.DataFrame:
    parts = [("train", "train", n_train), ("val", "val", n_val)]
    parts += [("test", scenario, n) for scenario, n in tests.items()]
    return pd.concat(
        [
            pd.DataFrame({"split": split, "scenario": scenario, "window": np.arange(n)})
            for split, scenario, n in parts
        ],
        ignore_index=True,
    )


def detector_outputs_table(
    kind: str,
    name: str,
    seed: int = 0,
    n_train: int = 160,
    n_val: int = 120,
    tests: dict[str, int] | None = None,
    labels: np.ndarray | None = None,
) -> pd.DataFrame:
    """A scoring-stage table of one detector: `model`, `split`, `scenario`, `window`, `label`,
    `score` and the kind's state columns (`vgae_score` / `gat_p` = `score`)."""
    rng = np.random.default_rng(seed)
    table = _scenarios(n_train, n_val, tests or {"test_a": 90, "test_b": 70})
    n = len(table)
    label = rng.integers(0, 2, n) if labels is None else labels
    signal = label + rng.normal(0, 0.6, n)  # informative, not perfect
    if kind == "gat":
        score = 1 / (1 + np.exp(-3 * (signal - 0.5)))
        state = {"gat_p": score} | {c: rng.normal(size=n) for c in GAT_STATE if c != "gat_p"}
    else:
        score = np.exp(signal)  # an unbounded anomaly score
        state = {"vgae_score": score} | {c: rng.normal(size=n) for c in VGAE_STATE}
    return table.assign(model=name, label=label, score=score, **state)[
        ["model", "split", "scenario", "window", "label", "score", *state]
    ]


def pair_tables(seed: int = 0, **sizes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A VGAE and a GAT table over the same windows with the same labels."""
    vgae = detector_outputs_table("vgae", "vgae_x", seed, **sizes)
    gat = detector_outputs_table("gat", "gat_x", seed + 1, labels=vgae["label"].to_numpy(), **sizes)
    return vgae, gat


def fusion_scores_table(pair: str, thresholds: dict[str, float], seed: int = 0) -> pd.DataFrame:
    """A fusion-stage table: val and test windows per method, each with its own threshold."""
    rng = np.random.default_rng(seed)
    table = _scenarios(0, 50, {"test_a": 40, "test_b": 30})
    label = rng.integers(0, 2, len(table))
    return pd.concat(
        [
            table.assign(
                label=label,
                model=f"{pair}.{method}",
                score=np.clip(label * 0.5 + rng.uniform(0, 0.6, len(table)), 0, 1),
                threshold=threshold,
            )
            for method, threshold in thresholds.items()
        ],
        ignore_index=True,
    )
