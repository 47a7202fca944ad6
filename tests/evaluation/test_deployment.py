"""The default deployment: chosen on validation windows only, never a detector that flags all or
none, the smallest within the tolerance of the best; `validated` resolves to that choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kd_gat import roster
from kd_gat.deployment import VALIDATED, choose_deployment, deployed_name, resolve

LABELS = np.array([0] * 80 + [1] * 20)
SIZES = pd.DataFrame(
    {
        "model": ["gat_teacher", "gat_student", "vgae_teacher", "vgae_student"],
        "parameters": [1_000_000, 20_000, 900_000, 30_000],
    }
)


def outputs(**scores: np.ndarray) -> dict[str, pd.DataFrame]:
    """Validation (and one test) window outputs per detector."""
    tables = {}
    for name, score in scores.items():
        val = pd.DataFrame(
            {"split": "val", "window": np.arange(len(LABELS)), "label": LABELS, "score": score}
        )
        test = val.head(3).assign(split="test", score=1.0)  # test windows are never read
        tables[name] = pd.concat([val, test], ignore_index=True)
    return tables


def thresholds(names) -> pd.DataFrame:
    return pd.DataFrame({"model": list(names), "threshold": 0.5, "node_threshold": 1.0})


def perfect() -> np.ndarray:
    return LABELS.astype(float)


def with_errors(n: int) -> np.ndarray:
    score = perfect()
    score[:n] = 1.0  # n false alarms
    return score


def test_the_smallest_within_tolerance_of_the_best_is_deployed() -> None:
    table = outputs(gat_teacher=perfect(), gat_student=with_errors(1), vgae_teacher=np.ones(100))
    choice = choose_deployment(table, thresholds(table), SIZES, tolerance=0.05)
    assert choice["detector"] == "gat_student"
    assert "gat_teacher validates at MCC 1.000" in choice["why"]
    rows = {r["detector"]: r for r in choice["candidates"]}
    assert rows["vgae_teacher"]["flagged_share"] == 1.0
    assert not rows["vgae_teacher"]["eligible"]  # flags everything: never chosen


def test_outside_the_tolerance_the_best_validation_mcc_wins() -> None:
    table = outputs(gat_teacher=perfect(), gat_student=with_errors(10))
    choice = choose_deployment(table, thresholds(table), SIZES, tolerance=0.01)
    assert choice["detector"] == "gat_teacher"
    assert choice["validation_windows"] == len(LABELS)


def test_a_flag_everything_detector_is_not_chosen_whatever_its_rank() -> None:
    table = outputs(vgae_teacher=np.ones(100), vgae_student=with_errors(30))
    choice = choose_deployment(table, thresholds(table), SIZES, tolerance=0.0)
    assert choice["detector"] == "vgae_student"


def test_nothing_separating_the_windows_is_reported_and_refused_at_deployment() -> None:
    table = outputs(gat_teacher=np.ones(100), gat_student=np.zeros(100))
    choice = choose_deployment(table, thresholds(table), SIZES, tolerance=0.01)
    assert choice["detector"] is None
    assert "nothing can be chosen by validation" in choice["why"]
    with pytest.raises(ValueError, match="nothing can be chosen by validation"):
        resolve(VALIDATED, choice)


def test_a_pairs_alarm_or_is_a_candidate_with_both_members() -> None:
    pair = roster.FUSIONS[0]
    sizes = pd.DataFrame({"model": [pair.vgae, pair.gat], "parameters": [10, 10]})
    vgae = np.where(np.arange(100) >= 90, 1.0, 0.0)  # half the attacks each
    gat = np.where((np.arange(100) >= 80) & (np.arange(100) < 90), 1.0, 0.0)
    table = outputs(**{pair.vgae: vgae, pair.gat: gat})
    choice = choose_deployment(table, thresholds(table), sizes, tolerance=0.0)
    assert choice["detector"] == f"{pair.name}.{roster.ALARM_OR}"  # only together perfect


def injected(recalls: dict[str, dict[str, float]]) -> pd.DataFrame:
    """An `injected_detection` table: per candidate, its recall per (car, kind) key "C dos"."""
    rows = [
        {"model": name, "vehicle": key.split()[0], "kind": key.split()[1], "recall": recall}
        for name, per in recalls.items()
        for key, recall in per.items()
    ]
    return pd.DataFrame(rows)


def test_a_candidate_that_misses_an_injected_attack_is_passed_over() -> None:
    """gat_student validates best but misses injected DoS on car C: gat_teacher, which detects
    every injected attack, is deployed, and the reason names what gat_student missed."""
    table = outputs(gat_teacher=with_errors(3), gat_student=perfect())
    found = injected(
        {
            "gat_teacher": {"B dos": 1.0, "C dos": 0.9, "C spoof": 0.8},
            "gat_student": {"B dos": 1.0, "C dos": 0.1, "C spoof": 1.0},
        }
    )
    choice = choose_deployment(table, thresholds(table), SIZES, 0.0, found, min_recall=0.5)
    assert choice["detector"] == "gat_teacher"
    assert "passed over for missing injected attacks: gat_student (10% of C dos)" in choice["why"]
    rows = {r["detector"]: r for r in choice["candidates"]}
    assert rows["gat_teacher"]["injected_recall"] == 0.8
    assert rows["gat_teacher"]["injected_weakest"] == "C spoof"
    # a lower bar lets validation decide again
    relaxed = choose_deployment(table, thresholds(table), SIZES, 0.0, found, min_recall=0.1)
    assert relaxed["detector"] == "gat_student"


def test_the_gate_is_dropped_and_said_when_every_candidate_misses() -> None:
    table = outputs(gat_teacher=with_errors(3), gat_student=perfect())
    found = injected({"gat_teacher": {"C dos": 0.2}, "gat_student": {"C dos": 0.0}})
    choice = choose_deployment(table, thresholds(table), SIZES, 0.0, found, min_recall=0.5)
    assert choice["detector"] == "gat_student"  # validation decides alone
    assert "no candidate detects 50% of each injected attack: not gated" in choice["why"]


def test_a_flag_everything_detector_stays_ineligible_whatever_it_detects() -> None:
    table = outputs(vgae_teacher=np.ones(100), vgae_student=with_errors(30))
    found = injected({"vgae_teacher": {"C dos": 1.0}, "vgae_student": {"C dos": 0.0}})
    choice = choose_deployment(table, thresholds(table), SIZES, 0.0, found, min_recall=0.5)
    assert choice["detector"] == "vgae_student"
    assert "not gated" in choice["why"]


def test_validated_resolves_to_the_choice_and_a_name_to_itself() -> None:
    assert resolve("gat_student_kd", None) == "gat_student_kd"
    assert resolve(VALIDATED, {"detector": "gat_teacher"}) == "gat_teacher"
    with pytest.raises(ValueError, match="no deployment choice"):
        resolve(VALIDATED, None)
    pair = roster.FUSIONS[0]
    assert deployed_name(VALIDATED, [pair.gat, pair.vgae]) == f"{pair.name}.{roster.ALARM_OR}"
    assert deployed_name(VALIDATED, ["gat_teacher"]) == "gat_teacher"
