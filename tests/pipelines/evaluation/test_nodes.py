"""Evaluation nodes on hand-made score tables and small real models: thresholds from validation
rows only, every test window of every model exactly once, metrics counted per (model, scenario),
sizes per detector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat.field_metrics import METRIC_COLUMNS
from kd_gat.localisation import LOCALISED_COLUMNS
from kd_gat.metrics import choose_threshold
from kd_gat.models import count_parameters
from kd_gat.pipelines.calibration.nodes import NODES_SUFFIX, zero_shot_thresholds
from kd_gat.pipelines.evaluation.nodes import (
    SCORE_COLUMNS,
    apply_operating_points,
    collect_window_scores,
    derive_attack_events,
    evaluate,
    evaluate_field_metrics,
    localise_frames,
    model_sizes,
)
from tests.pipelines.factory import (
    TEST_CAPTURES,
    detector_outputs_table,
    fusion_scores_table,
    small_frames,
    untrained,
)

PARAMS = {
    "normal_quantile": 0.9,
    "batch_size": 16,
    "latency_windows": 5,
    "event_gap_s": 1.0,
    "alarm_merge_s": 1.0,
    "confidence": 0.95,
}
FUSION_THRESHOLDS = {"dqn": 0.41, "weighted_average": 0.52, "stacker": 0.63}
NO_NODES = pd.DataFrame({"split": [], "window": [], "node": [], "node_score": []})


def collect(**tables: pd.DataFrame) -> pd.DataFrame:
    """`collect_window_scores` with each detector's zero-shot thresholds as the calibration
    stage sets them (`zero_shot_thresholds`, from its validation rows)."""
    detectors = {name: t for name, t in tables.items() if "threshold" not in t}
    nodes = {name + NODES_SUFFIX: NO_NODES for name in detectors}
    return collect_window_scores(zero_shot_thresholds(PARAMS, **detectors, **nodes), **tables)


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return {
        "det_a": detector_outputs_table("gat", "det_a", seed=1),
        "det_b": detector_outputs_table("vgae", "det_b", seed=2, tests={"test_a": 50}),
        "pair": fusion_scores_table("pair", FUSION_THRESHOLDS, seed=3),
    }


def test_every_test_window_of_every_model_exactly_once(tables) -> None:
    scores = collect(**tables)
    assert list(scores.columns) == SCORE_COLUMNS
    expected = {"det_a", "det_b", *(f"pair.{m}" for m in FUSION_THRESHOLDS)}
    assert set(scores["model"]) == expected
    sources = {"det_a": tables["det_a"], "det_b": tables["det_b"]}
    sources |= {
        f"pair.{m}": tables["pair"][tables["pair"]["model"] == f"pair.{m}"]
        for m in FUSION_THRESHOLDS
    }
    for model, source in sources.items():
        test = source[source["split"] == "test"]
        got = scores[scores["model"] == model]
        keys = ["scenario", "window"]
        assert not got.duplicated(keys).any()
        pd.testing.assert_frame_equal(
            got[[*keys, "label", "score"]].sort_values(keys).reset_index(drop=True),
            test[[*keys, "label", "score"]].sort_values(keys).reset_index(drop=True),
        )
    assert len(scores) == sum((t["split"] == "test").sum() for t in tables.values())


def test_detector_thresholds_come_from_validation_rows_only(tables) -> None:
    scores = collect(**tables)
    for name in ("det_a", "det_b"):
        val = tables[name][tables[name]["split"] == "val"]
        expected = choose_threshold(val["label"], val["score"], PARAMS["normal_quantile"])
        assert scores.loc[scores["model"] == name, "threshold"].unique().tolist() == [expected]

    # shuffled test labels, other test and train scores: no threshold moves
    changed = {k: t.copy() for k, t in tables.items()}
    rng = np.random.default_rng(5)
    for name in ("det_a", "det_b"):
        table = changed[name]
        other = table["split"] != "val"
        table.loc[other, "label"] = rng.permutation(table.loc[other, "label"].to_numpy())
        table.loc[other, "score"] = rng.uniform(0, 5, other.sum())
    again = collect(**changed)
    pd.testing.assert_series_equal(again["threshold"], scores["threshold"])

    # while other validation labels do move it
    flipped = {k: t.copy() for k, t in tables.items()}
    val = flipped["det_a"]["split"] == "val"
    flipped["det_a"].loc[val, "label"] = 1 - flipped["det_a"].loc[val, "label"]
    moved = collect(**flipped)
    assert (
        moved.loc[moved["model"] == "det_a", "threshold"].iloc[0]
        != scores.loc[scores["model"] == "det_a", "threshold"].iloc[0]
    )


def test_without_validation_attacks_the_threshold_is_the_normal_quantile(tables) -> None:
    table = tables["det_b"].copy()
    val = table["split"] == "val"
    table.loc[val, "label"] = 0
    scores = collect(det_b=table)
    expected = np.quantile(table.loc[val, "score"], PARAMS["normal_quantile"])
    assert scores["threshold"].unique() == pytest.approx([expected])


def test_fusion_scores_keep_each_methods_own_threshold(tables) -> None:
    scores = collect(pair=tables["pair"])
    assert set(scores["model"]) == {f"pair.{m}" for m in FUSION_THRESHOLDS}
    for method, threshold in FUSION_THRESHOLDS.items():
        rows = scores[scores["model"] == f"pair.{method}"]
        assert rows["threshold"].unique().tolist() == [threshold]


def test_metrics_count_each_model_on_each_scenario_with_its_threshold(tables) -> None:
    scores = collect(**tables)
    metrics = evaluate(scores)
    pairs = scores[["model", "scenario"]].drop_duplicates()
    assert len(metrics) == len(pairs)
    assert not metrics.duplicated(["model", "scenario"]).any()
    for row in metrics.itertuples():
        group = scores[(scores["model"] == row.model) & (scores["scenario"] == row.scenario)]
        alert = group["score"].to_numpy() >= group["threshold"].iloc[0]
        attack = group["label"].to_numpy() == 1
        assert (row.tp, row.fp, row.fn, row.tn) == (
            (alert & attack).sum(),
            (alert & ~attack).sum(),
            (~alert & attack).sum(),
            (~alert & ~attack).sum(),
        )
        assert row.n_windows == len(group)
        assert row.threshold == group["threshold"].iloc[0]
        assert row.f1 == pytest.approx(2 * row.tp / max(2 * row.tp + row.fp + row.fn, 1))


def test_metrics_refuse_two_thresholds_for_one_model(tables) -> None:
    scores = collect(**tables)
    scores.loc[scores.index[0], "threshold"] += 1
    with pytest.raises(ValueError, match="one validation threshold"):
        evaluate(scores)


def test_model_sizes_one_row_per_detector(small_graphs) -> None:
    val = small_graphs["graphs_val"]
    models = {
        "wide_gat": untrained("gat", val, hidden=32, heads=4),
        "narrow_gat": untrained("gat", val),
        "vgae": untrained("vgae", val),
    }
    sizes = model_sizes(val, PARAMS, **models)
    assert sizes["model"].tolist() == sorted(models)
    by_name = sizes.set_index("model")
    for name, model in models.items():
        assert by_name.loc[name, "parameters"] == count_parameters(model)
        assert by_name.loc[name, "parameters"] == sum(p.numel() for p in model.parameters())
        assert by_name.loc[name, "checkpoint_bytes"] > 4 * by_name.loc[name, "parameters"]
    assert by_name.loc["wide_gat", "parameters"] > by_name.loc["narrow_gat", "parameters"]
    assert (
        by_name.loc["wide_gat", "checkpoint_bytes"] > by_name.loc["narrow_gat", "checkpoint_bytes"]
    )
    assert (sizes["ms_per_window_batch1"] > 0).all()
    assert (sizes["windows_per_s_batched"] > 0).all()


def test_attack_events_come_from_test_captures_only() -> None:
    frames = small_frames()  # attack blocks of 4 frames every 50 (test_01) or 30 (test_04)
    events = derive_attack_events(frames, {**PARAMS, "event_gap_s": 0.02})
    assert set(events["capture"]) == set(TEST_CAPTURES.values())  # not train_02's attacks
    test = frames[frames["split"] == "test"]
    assert events["n_attack_frames"].sum() == test["attack"].sum()
    assert (events["n_attack_frames"] == 4).all()  # frames 0.01 s apart, blocks further apart
    # a gap wider than a capture joins each capture's blocks into one event
    wide = derive_attack_events(frames, {**PARAMS, "event_gap_s": 10.0})
    assert wide["capture"].tolist() == sorted(TEST_CAPTURES.values())


def test_field_metrics_node_reads_the_store_windows(small_graphs) -> None:
    stores = small_graphs["graphs_test"]
    scores = pd.concat(
        [
            pd.DataFrame(
                {
                    "model": model,
                    "scenario": scenario,
                    "window": np.arange(len(store)),
                    "label": store.windows["label"].to_numpy(),
                    "score": score(store.windows["label"].to_numpy()),
                    "threshold": 0.5,
                }
            )
            for scenario, store in stores.items()
            for model, score in (("all", np.ones_like), ("none", np.zeros_like))
        ],
        ignore_index=True,
    )
    captures = pd.concat([store.windows["capture"] for store in stores.values()]).astype(str)
    # every capture matched to profile "X" from its start; only "all" has a threshold there,
    # above every score: at the profile operating point it flags nothing
    matches = pd.DataFrame(
        {"capture": captures.unique(), "profile": "X", "matched_from": -np.inf, "jaccard": 1.0}
    )
    thresholds = pd.DataFrame({"model": ["all"], "vehicle": ["X"], "threshold": [2.0]})
    scores = apply_operating_points(scores, stores, matches, thresholds, {"warmup_s": 0.0})
    events = derive_attack_events(small_frames(), {**PARAMS, "event_gap_s": 0.02})
    # node scores: "all" implicates every node (1 ≥ the validation node threshold 0.5), "none"
    # never flags a window
    val = small_graphs["graphs_val"]
    node_outputs = {  # validation rows as the zero-shot node threshold read them
        model: pd.concat(
            [node_table(val, "val", "val", 0.5)]
            + [node_table(store, "test", s, 1.0) for s, store in stores.items()],
            ignore_index=True,
        )
        for model in ("all", "none")
    }
    no_profile = pd.DataFrame({"model": [], "vehicle": [], "node_threshold": []})
    # zero-shot node threshold: every validation node scores 0.5
    zero_shot = pd.DataFrame({"model": ["all", "none"], "threshold": 0.5, "node_threshold": 0.5})
    counts = localise_frames(scores, small_frames(), stores, no_profile, zero_shot, **node_outputs)
    by_scenario, by_capture = evaluate_field_metrics(scores, stores, events, counts, PARAMS)
    keys = ["model", "operating_point", "scenario"]
    extra = ["calibrated_share", *LOCALISED_COLUMNS]
    assert list(by_scenario.columns) == [*keys, *METRIC_COLUMNS, *extra]
    assert list(by_capture.columns) == [*keys, "capture", *METRIC_COLUMNS, *extra]
    table = by_scenario.set_index(keys)
    for scenario, store in stores.items():
        n_events = (events["scenario"] == scenario).sum()
        everything = table.loc[("all", "validation", scenario)]
        nothing = table.loc[("none", "validation", scenario)]
        assert everything["n_events"] == nothing["n_events"] == n_events
        assert everything["frame_tp"] == store.windows["n_attack_frames"].sum()
        assert nothing["frame_fn"] == store.windows["n_attack_frames"].sum()
        assert everything["time_in_alarm"] == pytest.approx(1.0)
        assert nothing["time_in_alarm"] == 0
        assert nothing["n_detected"] == 0
        assert nothing["false_alarms"] == 0
        assert everything["false_alarms"] >= 1
        assert everything["calibrated_share"] == nothing["calibrated_share"] == 0
        # every node implicated: the localised rule is the window rule
        for rule in ("precision", "recall", "f1"):
            assert everything[f"frame_{rule}_localised"] == pytest.approx(
                everything[f"frame_{rule}"], nan_ok=True
            )
        assert nothing["frame_recall_localised"] in (0, pytest.approx(np.nan, nan_ok=True))
        # the profile's threshold silences "all"; "none" has no profile threshold: unchanged
        calibrated = table.loc[("all", "profile", scenario)]
        assert calibrated["calibrated_share"] == 1
        assert calibrated["time_in_alarm"] == 0
        assert calibrated["n_detected"] == 0
        zero_shot = table.loc[("none", "profile", scenario)]
        assert zero_shot["calibrated_share"] == 0
        assert zero_shot[METRIC_COLUMNS].equals(nothing[METRIC_COLUMNS])
    assert (
        by_capture["calibrated_share"]
        == by_capture["model"].eq("all") * by_capture["operating_point"].eq("profile")
    ).all()
    with pytest.raises(ValueError, match="merge"):
        evaluate_field_metrics(scores, stores, events, counts, {**PARAMS, "alarm_merge_s": -1})


def node_table(store, split: str, scenario: str, score: float) -> pd.DataFrame:
    """One node-score row per node of `store`, every score `score`."""
    counts = np.diff(store.node_ptr)
    window = np.repeat(np.arange(len(store)), counts)
    return pd.DataFrame(
        {
            "split": split,
            "scenario": scenario,
            "window": window,
            "node": np.arange(len(window)) - store.node_ptr[window],
            "node_score": score,
        }
    )
