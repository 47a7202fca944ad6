"""Kedro dataset of a trained model: `{"kind", "config", "state_dict"}` in one torch file.

Saving takes a model built by `kd_gat.models` (it carries `kind` and `config`); loading
rebuilds it with `torch.load(weights_only=True)`, so no pickled code is ever executed.
Supports `versioned: true` and any fsspec filesystem.

With `mlflow_artifact_path`, each saved local file is also logged to the active MLflow run (the
one kedro-mlflow opens for `kedro run`; nothing is logged without one). kedro-mlflow's
`MlflowArtifactDataset` cannot wrap a versioned dataset under Kedro 1.x: it generates its own
save version, which the catalog rejects (`VersionAlreadyExistsError`).
"""

from __future__ import annotations

import io
import json
import os
from copy import deepcopy
from functools import wraps
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import (
    AbstractDataset,
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)
from torch import nn

from kd_gat import roster
from kd_gat.models.model_file import first_line, load_model, save_model
from kd_gat.tracking import global_rank


class TorchModelDataset(AbstractVersionedDataset[nn.Module, nn.Module]):
    """A `kd_gat.models` model as a weights-only torch file.

    ```yaml
    gat_teacher.model:
      type: kd_gat.datasets.torch_model.TorchModelDataset
      filepath: data/06_models/gat_teacher.pt
      versioned: true
      mlflow_artifact_path: models
    ```
    """

    def __init__(
        self,
        filepath: str,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        mlflow_artifact_path: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        fs_args = deepcopy(fs_args) or {}
        protocol, path = get_protocol_and_path(filepath, version)
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **fs_args)
        self._mlflow_artifact_path = mlflow_artifact_path
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "protocol": self._protocol, "version": self._version}

    def load(self) -> nn.Module:
        path = get_filepath_str(self._get_load_path(), self._protocol)
        with self._fs.open(path, "rb") as file:
            data = file.read()
        try:
            return load_model(io.BytesIO(data))
        except Exception as exc:  # torch, zip and state-dict errors alike: say which file
            raise DatasetError(
                f"{path}: not a readable kd_gat model file "
                f"({type(exc).__name__}: {first_line(exc)}). Delete it (with its version "
                "folder) and re-run the stage that writes it."
            ) from exc

    def save(self, data: nn.Module) -> None:
        """Write the file atomically (a temporary file renamed into place, locally), and only on
        the first process of a distributed run (every DDP process runs the same nodes)."""
        if not hasattr(data, "kind") or not hasattr(data, "config"):
            raise DatasetError(f"{type(data).__name__} is not a kd_gat model (no kind/config)")
        path = get_filepath_str(self._get_save_path(), self._protocol)
        buffer = io.BytesIO()
        save_model(data, buffer)
        if self._protocol == "file":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            partial = Path(f"{path}.partial-{os.getpid()}")
            partial.write_bytes(buffer.getvalue())
            os.replace(partial, path)
        else:
            self._fs.pipe_file(path, buffer.getvalue())
        self._invalidate_cache()
        if self._mlflow_artifact_path is not None:
            self._log_to_mlflow(path)

    @classmethod
    def _save_wrapper(cls, save_func):
        """Kedro's versioned save (version folder, consistency check), on global rank 0 only:
        the other processes of a DDP run hold the same weights and skip saving altogether."""
        versioned = super()._save_wrapper(save_func)

        @wraps(save_func)
        def save(self, data: nn.Module) -> None:
            if global_rank() == 0:
                versioned(self, data)

        return save

    def _log_to_mlflow(self, path: str) -> None:
        import mlflow

        if mlflow.active_run() is None or self._protocol != "file":
            return
        mlflow.log_artifact(path, self._mlflow_artifact_path)

    def _exists(self) -> bool:
        try:
            path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._fs.exists(path)

    def _release(self) -> None:
        super()._release()
        self._invalidate_cache()

    def _invalidate_cache(self) -> None:
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))


class DeployedModelsDataset(AbstractDataset[None, dict[str, nn.Module]]):
    """The latest saved model file of each detector a deployment runs (read-only): `deployed`
    names a roster detector, or a fusion pair's alarm-level OR (its VGAE and its GAT; see
    `kd_gat.roster.deployed_members`). Files: `<path>/<name>.pt/<version>/<name>.pt`, as the
    training and distillation stages save them.

    ```yaml
    inference_models:
      type: kd_gat.datasets.torch_model.DeployedModelsDataset
      path: data/06_models/set_01
      deployed: fusion_student.alarm_or
    ```
    """

    def __init__(
        self,
        path: str,
        deployed: str,
        choice: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._path = path.rstrip("/")
        self._deployed = deployed
        self._choice = choice
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path, "deployed": self._deployed, "choice": self._choice}

    def _name(self) -> str:
        """The deployed roster name; `validated` reads the evaluation stage's `choice` file."""
        if self._deployed != roster.VALIDATED:
            return self._deployed
        choice = Path(self._choice) if self._choice else None
        if choice is None or not choice.is_file():
            raise DatasetError(
                f"inference.detector is 'validated' but {choice} does not exist: run the "
                "evaluation stage (`kedro run`) first, or name a detector with "
                "`--params inference_detector=NAME`"
            )
        chosen = json.loads(choice.read_text())
        if chosen.get("detector") is None:
            raise DatasetError(f"inference.detector is 'validated' but {choice}: {chosen['why']}")
        return chosen["detector"]

    def _members(self) -> dict[str, TorchModelDataset]:
        return {
            name: TorchModelDataset(filepath=f"{self._path}/{name}.pt", version=Version(None, None))
            for name in roster.deployed_members(self._name())
        }

    def load(self) -> dict[str, nn.Module]:
        return {name: member.load() for name, member in self._members().items()}

    def _exists(self) -> bool:
        """Every member has a saved version (what the run's missing-inputs check asks)."""
        try:
            members = self._members()
        except DatasetError:
            return False
        return all(member.exists() for member in members.values())

    def save(self, data: dict[str, nn.Module]) -> None:
        raise DatasetError(f"{self._path}: deployed models are written by training, not here")
