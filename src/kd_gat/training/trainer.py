"""Build a Lightning Trainer from parameters and run a resumable fit that keeps the best model.

Checkpoints of one model live in their own folder (given by the caller, from parameters):
- `best.ckpt`: best epoch on the monitored validation metric (save_top_k=1);
- `last.ckpt`: end of the latest epoch, present only while a run is unfinished. With `resume`,
  Lightning's own `ckpt_path="last"` continues from it (loaded with `weights_only=True`); a fit
  that completes deletes it, so the next run starts afresh instead of "resuming" a finished run.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import pandas as pd
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from kd_gat.models.model_file import first_line
from kd_gat.params.training import TrainerParams, TrainingParams
from kd_gat.training.callbacks import EpochSink, MetricsHistory, NonFiniteGuard
from kd_gat.training.modules import GraphModule

log = logging.getLogger(__name__)

BEST, LAST = "best", "last"

# Lightning noise during a fit: advice to add DataLoader workers (small in-memory stores do not
# need them), to log less often than there are batches, a skipped step (GraphModule logs its own
# warning for a non-finite loss), "no last checkpoint" on a fresh start, a deprecation inside
# Lightning.
QUIET = (
    ".*does not have many workers.*",
    ".*`training_step` returned `None`.*",
    ".*smaller than the logging interval.*",
    ".*there is no last checkpoint available.*",
    r".*isinstance\(treespec, LeafSpec\).*",
)


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence the Lightning warnings listed in `QUIET` (fit and predict)."""
    with warnings.catch_warnings():
        for message in QUIET:
            warnings.filterwarnings("ignore", message)
        yield


@dataclass
class FitResult:
    history: pd.DataFrame  # one row per epoch
    monitor: str  # the validation metric that chose the best epoch
    best_path: Path | None  # best checkpoint (None if no epoch validated)
    best_score: float | None


def build_trainer(
    trainer: TrainerParams,
    training: TrainingParams,
    monitor: tuple[str, str],
    checkpoint_dir: Path,
    sink: EpochSink | None = None,
) -> L.Trainer:
    """Trainer with early stopping, best + last checkpoints, NaN guard and metrics history."""
    metric, mode = monitor
    callbacks = [
        EarlyStopping(
            monitor=metric, mode=mode, patience=training.patience, min_delta=training.min_delta
        ),
        ModelCheckpoint(
            dirpath=checkpoint_dir,
            filename=BEST,
            monitor=metric,
            mode=mode,
            save_top_k=1,
            save_last=True,
            auto_insert_metric_name=False,
            enable_version_counter=False,
            # at train-epoch end, after MetricsHistory has recorded the epoch (checkpoint
            # callbacks run last), so a resumed run keeps the full history
            save_on_train_epoch_end=True,
        ),
        NonFiniteGuard(training.max_nonfinite_batches),
        MetricsHistory(sink),
    ]
    logger = CSVLogger(checkpoint_dir, name="csv") if trainer.logger == "csv" else False
    return L.Trainer(
        accelerator=trainer.accelerator,
        devices=trainer.devices,
        precision=trainer.precision,
        strategy=trainer.strategy,
        num_nodes=trainer.num_nodes,
        deterministic=trainer.deterministic,
        enable_progress_bar=trainer.enable_progress_bar,
        enable_model_summary=trainer.enable_model_summary,
        log_every_n_steps=trainer.log_every_n_steps,
        max_epochs=training.max_epochs,
        gradient_clip_val=training.gradient_clip_val,
        callbacks=callbacks,
        logger=logger,
        default_root_dir=checkpoint_dir,
        enable_autolog_hparams=False,
    )


def lightning_state_dict(ckpt_path: str | Path, prefix: str = "model.") -> dict[str, torch.Tensor]:
    """The `prefix` sub-module's weights from a Lightning checkpoint (weights_only load)."""
    state = torch.load(ckpt_path, map_location="cpu", weights_only=True)["state_dict"]
    return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read."""


def check_resumable(last: Path, fingerprint: str) -> None:
    """Keep `last` for Lightning to resume only if it is readable and of the same data and
    parameters (its `fingerprint` hyper-parameter); remove it, saying why, if it is another's.
    An unreadable checkpoint is an error naming the file and what to do."""
    if not last.exists():
        return
    try:
        saved = torch.load(last, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{last}: unreadable checkpoint ({type(exc).__name__}: {first_line(exc)}). "
            "Delete it to start this model afresh, or run with `--params training.resume=false`."
        ) from exc
    theirs = saved.get("hyper_parameters", {}).get("fingerprint")
    if theirs != fingerprint:
        log.warning(
            "%s is from other data or parameters (%s, now %s): starting afresh",
            last,
            theirs,
            fingerprint,
        )
        last.unlink(missing_ok=True)
        return
    log.info("resuming from %s", last)


def fit(
    module: GraphModule,
    datamodule: L.LightningDataModule,
    trainer_params: TrainerParams,
    training: TrainingParams,
    checkpoint_dir: Path,
    sink: EpochSink | None = None,
) -> FitResult:
    """Fit (resuming an interrupted run), then load the best epoch's weights into `module`."""
    monitor = (
        training.monitor or module.monitor[0],
        training.monitor_mode or module.monitor[1],
    )
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    trainer = build_trainer(trainer_params, training, monitor, checkpoint_dir, sink)
    if training.resume:
        check_resumable(checkpoint_dir / f"{LAST}.ckpt", module.hparams["fingerprint"])
    with quiet_lightning():
        trainer.fit(
            module,
            datamodule=datamodule,
            ckpt_path="last" if training.resume else None,
            weights_only=True,
        )

    best = trainer.checkpoint_callback
    best_path = Path(best.best_model_path) if best.best_model_path else None
    if best_path is not None:
        module.model.load_state_dict(lightning_state_dict(best_path))
    if trainer.is_global_zero:
        (checkpoint_dir / f"{LAST}.ckpt").unlink(missing_ok=True)
    history = next(c for c in trainer.callbacks if isinstance(c, MetricsHistory)).rows
    score = best.best_model_score
    return FitResult(
        history=pd.DataFrame(history),
        monitor=monitor[0],
        best_path=best_path,
        best_score=None if score is None else float(score),
    )
