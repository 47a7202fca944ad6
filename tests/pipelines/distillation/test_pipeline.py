"""Distillation stage: one namespace per distilled student of the roster reading its teacher's
model, and the stage run in-process after the training stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kd_gat import roster
from kd_gat.pipelines.distillation import create_pipeline
from kd_gat.pipelines.templates import FIT_INPUTS

DISTILLED = {d.name: d for d in roster.distilled()}
SHARED_INPUTS = {*FIT_INPUTS.values(), "params:distillation"}


def plain_twin(student: roster.Detector) -> str:
    """The detector trained alone with the student's kind and scale."""
    (twin,) = [
        d.name for d in roster.trained() if (d.kind, d.scale) == (student.kind, student.scale)
    ]
    return twin


def test_one_namespace_per_distilled_student_reading_its_teacher() -> None:
    pipe = create_pipeline()
    assert {n.namespace for n in pipe.nodes} == set(DISTILLED)
    for name, student in DISTILLED.items():
        fit = next(n for n in pipe.nodes if n.name == f"{name}.distill_{name}")
        profile = {"distillation_graphs"} if student.profile_kd else set()
        assert set(fit.inputs) == SHARED_INPUTS | {f"{student.teacher}.model"} | profile
        assert fit.outputs == [f"{name}.model", f"{name}.training_history"]
        assert fit.func.keywords == {"detector": student}
    assert pipe.inputs() == SHARED_INPUTS | {"distillation_graphs"} | {
        f"{d.teacher}.model" for d in DISTILLED.values()
    }
    assert pipe.all_outputs() == {
        f"{name}.{out}"
        for name in DISTILLED
        for out in ("model", "training_history", "learning_curves")
    }


def test_distilled_students_have_the_plain_students_architecture(
    distillation_run, training_run
) -> None:
    for name, student in DISTILLED.items():
        model, plain = (
            distillation_run[f"{name}.model"],
            training_run[f"{plain_twin(student)}.model"],
        )
        assert model.kind == plain.kind == student.kind
        assert model.config == plain.config  # same architecture: only the training differs
        weights = model.state_dict()
        assert weights.keys() == plain.state_dict().keys()
        # … and the training does differ: same seed and data, other loss, other weights
        assert not all(torch.equal(v, weights[k]) for k, v in plain.state_dict().items())


def test_distillation_terms_are_logged_per_epoch(distillation_run, stage_params) -> None:
    for name in DISTILLED:
        history = distillation_run[f"{name}.training_history"]
        assert 1 <= len(history) <= stage_params["training"]["max_epochs"]
        kd_columns = [c for c in history.columns if c.startswith("train_kd_")]
        assert kd_columns, "the distillation terms are logged per epoch"
        assert np.isfinite(history[kd_columns].to_numpy()).all()
        figure = distillation_run[f"{name}.learning_curves"]
        assert figure.axes[0].get_title() == f"{name}: loss"


def test_teachers_are_not_part_of_the_students(distillation_run, stage_params) -> None:
    """The student's checkpoint holds the student only; the teacher it read is the training
    stage's model, unchanged (the stage works on its own copy)."""
    root = Path(stage_params["training"]["checkpoint_root"])
    for student in DISTILLED.values():
        own = torch.load(root / student.name / "best.ckpt", weights_only=True)["state_dict"]
        assert not [k for k in own if "teacher" in k]
        model = distillation_run[f"{student.name}.model"]
        assert {f"model.{k}" for k in model.state_dict()} <= set(own)
        teacher = distillation_run.inputs[f"{student.teacher}.model"]
        assert all(p.requires_grad for p in teacher.parameters())


def test_profile_windows_teach_the_profile_distilled_students(distillation_run, graphs_run) -> None:
    """The shipped slice of car B: its last part teaches the `profile_kd` students (the
    distillation term on those windows is logged), and sets none of B's thresholds."""
    profile = graphs_run["distillation_graphs"]
    assert len(profile) > 0
    assert set(profile.windows["capture"].astype(str).str.split("/").str[0]) == {"B"}
    calibration = graphs_run["calibration_graphs"]["B"].windows
    assert calibration["end_time"].max() <= profile.windows["start_time"].min()
    for name, student in DISTILLED.items():
        history = distillation_run[f"{name}.training_history"]
        assert ("train_kd_profile" in history) == student.profile_kd
        if student.profile_kd:
            assert (history["train_kd_profile"].dropna() > 0).all()
            # the same student without the profile windows learns other weights
            twin = next(
                d.name
                for d in roster.distilled()
                if (d.kind, d.teacher, d.profile_kd) == (student.kind, student.teacher, False)
            )
            mine = distillation_run[f"{name}.model"].state_dict()
            other = distillation_run[f"{twin}.model"].state_dict()
            assert not all(torch.equal(v, mine[k]) for k, v in other.items())
