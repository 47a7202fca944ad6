"""Kedro dataset of a detector bundle (`kd_gat.bundle`): a folder with the manifest and one
`.onnx` file per member, written together so that they always agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from kd_gat.bundle import MANIFEST


class DetectorBundleDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """`{"manifest": dict, "models": {file name: ONNX bytes}}` as `<path>/detector.json` and
    `<path>/<file name>`; saving removes `.onnx` files the manifest no longer names."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        manifest_file = self._path / MANIFEST
        if not manifest_file.is_file():
            raise DatasetError(f"{manifest_file}: no detector bundle (run the export pipeline)")
        manifest = json.loads(manifest_file.read_text())
        files = [m["file"] for m in manifest["members"].values()]
        return {"manifest": manifest, "models": {f: (self._path / f).read_bytes() for f in files}}

    def save(self, data: dict[str, Any]) -> None:
        models: dict[str, bytes] = data["models"]
        for name in models:
            if Path(name).name != name or not name.endswith(".onnx"):
                raise DatasetError(f"{name!r} is not a model file name (<name>.onnx)")
        self._path.mkdir(parents=True, exist_ok=True)
        for stale in self._path.glob("*.onnx"):
            if stale.name not in models:
                stale.unlink()
        for name, content in models.items():
            (self._path / name).write_bytes(content)
        (self._path / MANIFEST).write_text(json.dumps(data["manifest"], indent=1))

    def _exists(self) -> bool:
        return (self._path / MANIFEST).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
