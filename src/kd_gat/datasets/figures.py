"""Kedro dataset of matplotlib figures written in several formats: PNG to view (and for
kedro-viz's preview), SVG to print.

kedro-datasets' `matplotlib.MatplotlibDataset` writes one format per entry, and kedro-mlflow's
`MlflowArtifactDataset` around it logs only the entry's own path, so a figure in two formats
would be two catalog entries and two node outputs. This dataset writes each figure once per
format and, with `mlflow_artifact_path`, logs every file it wrote to the active MLflow run (the
one kedro-mlflow opens for `kedro run`; nothing is logged without one), as
`kd_gat.datasets.torch_model.TorchModelDataset` does.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from copy import deepcopy
from pathlib import PurePosixPath
from typing import Any, NoReturn

import fsspec
from kedro.io.core import AbstractDataset, DatasetError, get_filepath_str, get_protocol_and_path
from kedro_datasets._typing import ImagePreview
from matplotlib.figure import Figure


class FigureDataset(AbstractDataset[Figure | dict[str, Figure], NoReturn]):
    """One matplotlib `Figure`, or a dict of them, each written in every one of `formats`.

    `filepath` has no extension: a figure is written to `<filepath>.<format>`, a dict's figures
    to `<filepath>/<key>.<format>` (a folder, a figure per key: per test scenario, say).
    `save_args` go to `Figure.savefig` (`dpi`, ...; the format comes from `formats`). Files are
    logged to MLflow under `mlflow_artifact_path` (a dict's under `<mlflow_artifact_path>/<folder
    name>`). Write-only.

    ```yaml
    roc_curves:
      type: kd_gat.datasets.figures.FigureDataset
      filepath: data/08_reporting/set_01/plots/roc
      formats: [png, svg]
      save_args: {dpi: 150}
      mlflow_artifact_path: reporting
    ```
    """

    def __init__(
        self,
        *,
        filepath: str,
        formats: Sequence[str] = ("png", "svg"),
        save_args: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        credentials: dict[str, Any] | None = None,
        mlflow_artifact_path: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._formats = tuple(str(f).lower().lstrip(".") for f in formats)
        if not self._formats:
            raise DatasetError(f"{filepath}: no format to write")
        if save_args and "format" in save_args:
            raise DatasetError(f"{filepath}: give the formats as `formats`, not save_args.format")
        protocol, path = get_protocol_and_path(filepath)
        if PurePosixPath(path).suffix.lstrip(".").lower() in self._formats:
            raise DatasetError(f"{filepath}: give the path without its extension")
        fs_args = deepcopy(fs_args) or {}
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._path = PurePosixPath(path)
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **fs_args)
        self._save_args = dict(save_args or {})
        self._mlflow_artifact_path = mlflow_artifact_path
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._path),
            "protocol": self._protocol,
            "formats": self._formats,
            "save_args": self._save_args,
        }

    def _figures(self, data: Figure | Mapping[str, Figure]) -> list[tuple[PurePosixPath, Figure]]:
        """(path without extension, figure) of everything to write."""
        if isinstance(data, Figure):
            return [(self._path, data)]
        if not isinstance(data, Mapping):
            raise DatasetError(
                f"{self._path}: a matplotlib Figure or a dict of them, not {type(data).__name__}"
            )
        out = []
        for key, figure in data.items():
            if not isinstance(figure, Figure):
                raise DatasetError(f"{self._path}/{key}: not a matplotlib Figure")
            if PurePosixPath(key).name != key or key in ("", ".", ".."):
                raise DatasetError(f"{self._path}: {key!r} is not a plain file name")
            out.append((self._path / key, figure))
        return out

    def _file(self, stem: PurePosixPath, fmt: str) -> str:
        return get_filepath_str(stem.with_name(f"{stem.name}.{fmt}"), self._protocol)

    def save(self, data: Figure | Mapping[str, Figure]) -> None:
        written = []
        for stem, figure in self._figures(data):
            for fmt in self._formats:
                buffer = io.BytesIO()
                figure.savefig(buffer, format=fmt, **self._save_args)
                path = self._file(stem, fmt)
                with self._fs.open(path, mode="wb") as file:
                    file.write(buffer.getvalue())
                written.append(path)
        self._fs.invalidate_cache(get_filepath_str(self._path.parent, self._protocol))
        if self._mlflow_artifact_path is not None:
            folder = not isinstance(data, Figure)
            self._log_to_mlflow(written, folder)

    def _log_to_mlflow(self, paths: list[str], folder: bool) -> None:
        import mlflow

        if mlflow.active_run() is None or self._protocol != "file":
            return
        artifact_path = self._mlflow_artifact_path
        if folder:
            artifact_path = f"{artifact_path}/{self._path.name}"
        for path in paths:
            mlflow.log_artifact(path, artifact_path)

    def load(self) -> NoReturn:
        raise DatasetError(f"{self._path}: figures are written, not read back")

    def _exists(self) -> bool:
        single = self._file(self._path, self._formats[0])
        folder = get_filepath_str(self._path, self._protocol)
        return self._fs.exists(single) or self._fs.isdir(folder)

    def preview(self) -> ImagePreview:
        """The figure in the first format (kedro-viz shows PNG), or a dict's first figure."""
        single = self._file(self._path, self._formats[0])
        if not self._fs.exists(single):
            folder = get_filepath_str(self._path, self._protocol)
            found = sorted(self._fs.glob(f"{folder}/*.{self._formats[0]}"))
            if not found:
                raise DatasetError(f"{self._path}: nothing written yet")
            single = found[0]
        with self._fs.open(single, mode="rb") as file:
            return ImagePreview(base64.b64encode(file.read()).decode("utf-8"))
