"""Training parameters: the shipped environments validate, scales have the sizes promised."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from pydantic import ValidationError

from kd_gat import roster
from kd_gat.models import build_model, count_parameters
from kd_gat.params.training import resolve_job
from kd_gat.roster import Detector
from kd_gat.settings import CONFIG_LOADER_ARGS

CONF = Path(__file__).resolve().parents[2] / "conf"


def parameters(env: str | None) -> dict:
    args = {**CONFIG_LOADER_ARGS, "default_run_env": env or "base"}  # as `kedro run --env`
    loader = OmegaConfigLoader(str(CONF), **args)
    return loader["parameters"]


def resolved(params: dict, detector: Detector | str, overrides: dict | None = None):
    if isinstance(detector, str):
        (detector,) = [d for d in roster.DETECTORS if d.name == detector]
    return resolve_job(
        detector,
        params["training"],
        params["trainer"],
        params["model_scales"],
        params["detector_overrides"] if overrides is None else overrides,
    )


@pytest.mark.parametrize("env", [None, "smoke", "gpu"])
def test_every_detector_validates_in_every_environment(env):
    params = parameters(env)
    for detector in roster.DETECTORS:
        spec = resolved(params, detector)
        assert (spec.name, spec.kind) == (detector.name, detector.kind)
        checkpoints = Path(params["training"]["checkpoint_root"]) / detector.name
        assert spec.checkpoint_dir == checkpoints


def test_environments_override_single_keys():
    trainer = resolved(parameters("gpu"), "gat_teacher").trainer
    launch = (trainer.accelerator, trainer.precision, trainer.strategy)
    assert launch == ("gpu", "bf16-mixed", "ddp")
    assert trainer.num_nodes == parameters(None)["trainer"]["num_nodes"]
    smoke = resolved(parameters("smoke"), "gat_teacher").training
    assert (smoke.max_epochs, smoke.lr) == (2, parameters(None)["training"]["lr"])


@pytest.mark.parametrize("num_ids", [64, 512])  # set_01 train vocabulary: 53 IDs
def test_scales_have_the_promised_sizes(num_ids):
    """Teacher GAT 1–3M parameters; each student at most a tenth of its teacher.

    The VGAE's CAN-ID head grows with the vocabulary: at a few thousand IDs the VGAE student
    passes a tenth of its teacher (a smaller student `hidden` fixes it).
    """
    params = parameters(None)
    counts = {}
    for detector in roster.DETECTORS:
        spec = resolved(params, detector)
        model = build_model(spec.kind, spec.model.model_dump(), num_ids, 12, 6)
        counts[detector.name] = count_parameters(model)
    assert 1_000_000 <= counts["gat_teacher"] <= 3_000_000
    assert counts["gat_student"] <= counts["gat_teacher"] / 10
    assert counts["vgae_student"] <= counts["vgae_teacher"] / 10


def test_detector_overrides_merge_over_presets():
    params = parameters(None)
    overrides = {"gat_student": {"model": {"hidden": 96}, "training": {"lr": 0.01}}}
    spec = resolved(params, "gat_student", overrides)
    assert resolved(params, "gat_teacher", overrides).training.lr == params["training"]["lr"]
    assert spec.model.hidden == 96
    assert spec.model.heads == params["model_scales"]["gat"]["small"]["heads"]
    assert spec.training.lr == 0.01
    assert spec.training.batch_size == params["training"]["batch_size"]


@pytest.mark.parametrize(
    ("detector", "overrides", "message"),
    [
        (Detector("gat_teacher", "gat", "huge"), {}, "no gat scale 'huge'"),
        ("gat_teacher", {"gat_teacher": {"model": {"hidden": 50}}}, "multiple of heads"),
        ("gat_teacher", {"gat_teacher": {"training": {"imbalance": "x"}}}, "imbalance"),
        ("gat_teacher", {"gat_teacher": {"training": {"max_epochs": 0}}}, "max_epochs"),
        ("gat_teacher", {"gat_teacher": {"unknown": 1}}, "unknown"),
        ("gat_teacher", {"gat_techer": {}}, "no detector"),
    ],
)
def test_bad_parameters_fail_before_training(detector, overrides, message):
    with pytest.raises((ValidationError, ValueError), match=message):
        resolved(parameters(None), detector, overrides)
