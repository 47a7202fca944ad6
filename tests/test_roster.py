"""The roster and its selection for ablation runs (`KD_GAT_DETECTORS`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kd_gat import roster


def test_no_selection_is_the_whole_roster() -> None:
    assert roster.select(None, roster.DETECTORS, roster.FUSIONS) == (
        roster.DETECTORS,
        roster.FUSIONS,
    )
    assert roster.select("", roster.DETECTORS, roster.FUSIONS)[0] == roster.DETECTORS


def test_selection_keeps_the_named_detectors_and_the_pairs_they_complete() -> None:
    pair = roster.FUSIONS[0]
    detectors, fusions = roster.select(
        f" {pair.gat} ,{pair.vgae},vgae_student", roster.DETECTORS, roster.FUSIONS
    )
    assert {d.name for d in detectors} == {pair.gat, pair.vgae, "vgae_student"}
    assert [d.name for d in detectors] == [
        d.name for d in roster.DETECTORS if d.name in {pair.gat, pair.vgae, "vgae_student"}
    ]
    assert fusions == (pair,)
    assert roster.select("gat_student", roster.DETECTORS, roster.FUSIONS)[1] == ()


def test_selection_names_an_unknown_detector() -> None:
    with pytest.raises(ValueError, match=r"KD_GAT_DETECTORS: unknown detector\(s\) \['gat_huge'\]"):
        roster.select("gat_student,gat_huge", roster.DETECTORS, roster.FUSIONS)


def _registry_nodes(selection: str) -> subprocess.CompletedProcess[str]:
    """The default pipeline's node names in a fresh interpreter with `selection` set."""
    code = (
        "from kedro.framework.project import configure_project;configure_project('kd_gat');"
        "from kd_gat.pipeline_registry import register_pipelines;"
        "print(sorted(n.name for n in register_pipelines()['__default__'].nodes))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=os.environ | {roster.SELECTION_VARIABLE: selection},
    )


def test_pipelines_are_generated_for_the_selection_only() -> None:
    result = _registry_nodes("gat_student,vgae_student")
    assert result.returncode == 0, result.stderr
    nodes = result.stdout
    assert "train_gat_student" in nodes
    assert "train_vgae_student" in nodes
    for absent in ("gat_teacher", "vgae_teacher", "student_kd", "fusion_teacher", "fusion_student"):
        assert absent not in nodes


def test_a_distilled_student_needs_its_teacher_selected() -> None:
    result = _registry_nodes("gat_student_kd")
    assert result.returncode != 0
    assert "gat_student_kd's teacher 'gat_teacher'" in result.stderr
