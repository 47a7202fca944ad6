"""Parameters of the training pipeline.

Groups in `parameters_training.yml`:
- `trainer` (`TrainerParams`): hardware and launch (accelerator, devices, precision, strategy,
  num_nodes, determinism); the `gpu` environment overrides these keys.
- `training` (`TrainingParams`): optimisation shared by every model (epochs, batch size, lr,
  early stopping, imbalance handling, checkpoints/resume).
- `model_scales` (`ModelScales`): architecture presets per kind and scale (`large`, `small`).
- `detector_overrides` (`DetectorOverrides`): per detector of the roster (`kd_gat.roster`),
  optional `model` / `training` overrides deep-merged over its scale preset and the shared block.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, RootModel, field_validator, model_validator

from kd_gat.params.base import Strict
from kd_gat.roster import Detector, Kind, detector_names


class TrainerParams(Strict):
    """Lightning Trainer launch settings (see `kd_gat.training.trainer.build_trainer`)."""

    accelerator: str = "cpu"
    devices: int | str | list[int] = 1
    precision: str = "32-true"
    strategy: str = "auto"
    num_nodes: int = Field(1, ge=1)
    deterministic: bool | Literal["warn"] = True
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    logger: Literal["none", "csv"] = "none"
    log_every_n_steps: int = Field(10, ge=1)


class VGAELossParams(Strict):
    """Weights of the VGAE training loss terms (KL and reconstruction)."""

    kl_weight: float = Field(1e-3, ge=0)
    feature_weight: float = Field(1.0, ge=0)
    id_weight: float = Field(1.0, ge=0)
    edge_weight: float = Field(1.0, ge=0)


class TrainingParams(Strict):
    """Optimisation shared by all models; `imbalance` applies to the GAT only.

    `imbalance`: `class_weights` (cross-entropy weighted by inverse train class frequency),
    `sampler` (WeightedRandomSampler drawing classes equally, plain cross-entropy) or `none`.
    `monitor`/`monitor_mode`: validation metric for early stopping and the best checkpoint;
    None = the module's default (`val_f1`/max for the GAT, `val_loss`/min for the VGAE).
    Checkpoints of model `<name>` go to `<checkpoint_root>/<name>/`; with `resume`, a
    `last.ckpt` left there by an interrupted run is resumed.
    """

    seed: int = 42
    max_epochs: int = Field(12, ge=1)
    batch_size: int = Field(64, ge=1)
    eval_batch_size: int | None = Field(256, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    patience: int = Field(4, ge=0)
    min_delta: float = Field(0.0, ge=0)
    gradient_clip_val: float | None = Field(1.0, gt=0)
    max_nonfinite_batches: int = Field(10, ge=0)
    imbalance: Literal["class_weights", "sampler", "none"] = "class_weights"
    num_workers: int = Field(0, ge=0)
    resume: bool = True
    checkpoint_root: str = Field(min_length=1)  # conf: data/06_models/<dataset>/checkpoints
    monitor: str | None = None
    monitor_mode: Literal["min", "max"] | None = None
    vgae: VGAELossParams = VGAELossParams()


class GATParams(Strict):
    """`GATClassifier` architecture (sizes of the data are added at build time); `can_ids`:
    learn a CAN-ID embedding (off, the default: the model sees nothing that names one car's IDs)."""

    hidden: int = Field(ge=1)
    heads: int = Field(ge=1)
    layers: int = Field(ge=1)
    embed_dim: int = Field(ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    jk: Literal["cat", "max", "lstm"] = "cat"
    head_hidden: int | None = Field(None, ge=1)
    can_ids: bool = False

    @model_validator(mode="after")
    def _heads_divide_hidden(self):
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be a multiple of heads ({self.heads})")
        return self


class VGAEParams(Strict):
    """`GraphVGAE` architecture; `score_weights` weigh feature, CAN-ID and edge errors;
    `can_ids`: embed and reconstruct CAN IDs (off: neither, and the CAN-ID error is 0)."""

    hidden: int = Field(ge=1)
    heads: int = Field(ge=1)
    layers: int = Field(ge=1)
    embed_dim: int = Field(ge=1)
    latent: int = Field(ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    score_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    can_ids: bool = False

    @model_validator(mode="after")
    def _checks(self):
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be a multiple of heads ({self.heads})")
        if min(self.score_weights) < 0:
            raise ValueError("score_weights must be non-negative")
        return self


MODEL_PARAMS: dict[str, type[GATParams] | type[VGAEParams]] = {
    "gat": GATParams,
    "vgae": VGAEParams,
}


class ModelScales(Strict):
    """Architecture presets: `model_scales.<kind>.<scale>`."""

    gat: dict[str, GATParams]
    vgae: dict[str, VGAEParams]


class Overrides(Strict):
    """One detector's `model` / `training` keys merged over its preset and the shared block."""

    model: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)


class DetectorOverrides(RootModel[dict[str, Overrides]]):
    """`detector_overrides`: detector name (from the roster) → its overrides."""

    root: dict[str, Overrides] = Field(default_factory=dict)

    @field_validator("root")
    @classmethod
    def _known_detectors(cls, value: dict[str, Overrides]) -> dict[str, Overrides]:
        unknown = sorted(set(value) - set(detector_names()))
        if unknown:
            raise ValueError(f"no detector {unknown} in the roster {sorted(detector_names())}")
        return value


class ResolvedJob(Strict):
    """A detector with its preset and overrides merged and validated."""

    name: str
    kind: Kind
    model: GATParams | VGAEParams
    training: TrainingParams
    trainer: TrainerParams

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.training.checkpoint_root) / self.name


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`, recursively for nested mappings."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_job(
    detector: Detector,
    training: Mapping[str, Any],
    trainer: Mapping[str, Any],
    model_scales: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> ResolvedJob:
    """Merge a detector's overrides over its scale preset and the shared training block."""
    own = DetectorOverrides.model_validate(overrides or {}).root.get(detector.name, Overrides())
    scales = getattr(ModelScales.model_validate(model_scales), detector.kind)
    if detector.scale not in scales:
        raise ValueError(
            f"{detector.name}: no {detector.kind} scale {detector.scale!r} in {sorted(scales)}"
        )
    model = deep_merge(scales[detector.scale].model_dump(), own.model)
    return ResolvedJob(
        name=detector.name,
        kind=detector.kind,
        model=MODEL_PARAMS[detector.kind].model_validate(model),
        training=TrainingParams.model_validate(deep_merge(training, own.training)),
        trainer=TrainerParams.model_validate(trainer),
    )
