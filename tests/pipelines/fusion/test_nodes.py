"""`fit_fusion` on hand-made detector output tables: each method's rows carry the threshold that
method chose on validation windows, test labels change nothing, the reference is the normal
training windows, and the returned policy is the one that scored the DQN rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from kd_gat.fusion.inputs import FusionInputs, join_outputs
from kd_gat.metrics import choose_threshold
from kd_gat.pipelines.fusion.nodes import fit_fusion
from kd_gat.roster import FusionPair
from tests.pipelines.factory import pair_tables

PAIR = FusionPair("my_pair", vgae="vgae_x", gat="gat_x")
FUSION = {"arms": 5, "dqn": {"hidden": 16, "steps": 300, "batch_size": 32}}
EVALUATION = {"normal_quantile": 0.99}
METHODS = ("dqn", "weighted_average", "stacker")


def fit(vgae: pd.DataFrame, gat: pd.DataFrame, fusion=FUSION, evaluation=EVALUATION):
    return fit_fusion(vgae, gat, fusion, evaluation, pair=PAIR)


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pair_tables(seed=0)


@pytest.fixture(scope="module")
def fitted(tables):
    return fit(*tables)


@pytest.mark.filterwarnings("error:The given NumPy array is not writable")
def test_every_method_scores_every_val_and_test_window_once(tables, fitted) -> None:
    vgae, _ = tables
    scores, _, _ = fitted
    assert set(scores["model"]) == {f"my_pair.{m}" for m in METHODS}
    expected = vgae[vgae["split"] != "train"].set_index(["split", "scenario", "window"])["label"]
    for _, rows in scores.groupby("model"):
        got = rows.set_index(["split", "scenario", "window"])["label"]
        assert got.index.is_unique
        assert got.sort_index().equals(expected.sort_index())
    assert scores["score"].notna().all()


def test_each_method_carries_its_own_validation_threshold(tables, fitted) -> None:
    scores, summary, _ = fitted
    thresholds = {}
    for method in METHODS:
        rows = scores[scores["model"] == f"my_pair.{method}"]
        assert rows["threshold"].nunique() == 1
        threshold = rows["threshold"].iloc[0]
        val = rows[rows["split"] == "val"]
        q = EVALUATION["normal_quantile"]
        assert threshold == choose_threshold(val["label"], val["score"], q)
        assert threshold == summary["methods"][method]["threshold"]
        thresholds[method] = threshold
    assert len(set(thresholds.values())) == len(METHODS)  # so a mix-up would show


def test_the_policy_is_the_dqn_that_scored(tables, fitted) -> None:
    vgae, gat = tables
    scores, summary, policy = fitted
    dqn = scores[scores["model"] == "my_pair.dqn"]
    assert float(policy.threshold) == pytest.approx(dqn["threshold"].iloc[0])
    joined = join_outputs(vgae, gat)
    joined = joined[joined["split"] != "train"]
    fused, alpha = policy(*FusionInputs.from_joined(joined).tensors())
    by_key = dqn.set_index(["split", "scenario", "window"])["score"]
    keys = pd.MultiIndex.from_frame(joined[["split", "scenario", "window"]])
    np.testing.assert_allclose(by_key.loc[keys].to_numpy(), fused.numpy(), rtol=1e-6)
    assert set(alpha.tolist()) <= set(np.linspace(0, 1, FUSION["arms"]).tolist())
    assert summary["pair"] == "vgae_x+gat_x"
    assert summary["validation_windows"] == (vgae["split"] == "val").sum()
    normal_train = (vgae["split"] == "train") & (vgae["label"] == 0)
    assert summary["reference_windows"] == normal_train.sum()
    assert policy.config["n_reference"] == normal_train.sum()


def test_test_labels_change_no_threshold_and_no_score(tables, fitted) -> None:
    vgae, gat = (t.copy() for t in tables)
    test = vgae["split"] == "test"
    shuffled = np.random.default_rng(1).permutation(vgae.loc[test, "label"].to_numpy())
    assert (shuffled != vgae.loc[test, "label"].to_numpy()).any()
    vgae.loc[test, "label"] = shuffled
    gat.loc[test, "label"] = shuffled
    scores, _, _ = fit(vgae, gat)
    before, _, _ = fitted
    pd.testing.assert_series_equal(scores["threshold"], before["threshold"])
    pd.testing.assert_series_equal(scores["score"], before["score"])


def test_the_reference_is_the_normal_training_windows(tables, fitted) -> None:
    vgae, gat = (t.copy() for t in tables)
    train = vgae["split"] == "train"
    before, _, _ = fitted
    # training attack windows are not part of the reference: changing them changes nothing
    attacks = vgae.copy()
    attacks.loc[train & (vgae["label"] == 1), "vgae_score"] *= 100
    pd.testing.assert_series_equal(fit(attacks, gat)[0]["score"], before["score"])
    # normal training windows are: their scores set the VGAE score's scale for every method
    normal = vgae.copy()
    normal.loc[train & (vgae["label"] == 0), "vgae_score"] *= 100
    assert not np.allclose(fit(normal, gat)[0]["score"], before["score"])


def test_the_dqn_seed_alone_fixes_the_fusion(tables, fitted) -> None:
    """Same inputs and `fusion.dqn.seed`: the same agent, whatever the global RNG went through
    before (a full run trains models first, `--pipelines fusion` does not)."""
    before, _, policy = fitted
    torch.rand(1000)  # other work in between
    again, _, same = fit(*tables)
    pd.testing.assert_frame_equal(again, before)
    for key, tensor in policy.state_dict().items():
        assert torch.equal(tensor, same.state_dict()[key]), key
    other_seed = {**FUSION, "dqn": {**FUSION["dqn"], "seed": 7}}
    reseeded = fit(*tables, fusion=other_seed)[0]
    dqn = reseeded["model"] == "my_pair.dqn"
    assert not np.allclose(reseeded.loc[dqn, "score"], before.loc[dqn, "score"])


def test_outputs_of_different_windows_are_refused(tables) -> None:
    vgae, gat = tables
    with pytest.raises(ValueError, match="same windows"):
        fit(vgae, gat.iloc[1:])
    relabelled = gat.copy()
    relabelled.loc[relabelled.index[-1], "label"] = 1 - relabelled["label"].iloc[-1]
    with pytest.raises(ValueError, match="same windows"):
        fit(vgae, relabelled)


def test_bad_fusion_parameters_are_refused(tables) -> None:
    with pytest.raises(ValidationError, match="arms"):
        fit(*tables, fusion={**FUSION, "arms": 1})
    with pytest.raises(ValidationError, match="normal_quantile"):
        fit(*tables, evaluation={"normal_quantile": 1.5})


def test_validation_without_attacks_is_refused_with_the_remedy(tables) -> None:
    vgae, gat = (t.assign(label=t["label"].where(t["split"] != "val", 0)) for t in tables)
    with pytest.raises(ValueError, match=r"my_pair: the validation windows hold only label \[0\]"):
        fit(vgae, gat)
