"""Kedro datasets for graph stores: one `.npz` file, or a folder of one `.npz` per scenario.

Both write with `GraphStore.save` (numpy arrays and unicode strings only, never pickle).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset, AbstractVersionedDataset, DatasetError
from kedro.io.core import Version

from kd_gat.graphs.store import GraphStore

_SUFFIX = ".npz"


class GraphStoreDataset(AbstractVersionedDataset[GraphStore, GraphStore]):
    """One `GraphStore` as a local `.npz` file; supports `versioned: true`."""

    def __init__(
        self,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(PurePosixPath(filepath), version)
        self.metadata = metadata

    def load(self) -> GraphStore:
        return GraphStore.load(Path(str(self._get_load_path())))

    def save(self, data: GraphStore) -> None:
        path = Path(str(self._get_save_path()))
        path.parent.mkdir(parents=True, exist_ok=True)
        data.save(path)

    def _exists(self) -> bool:
        try:
            return Path(str(self._get_load_path())).is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}


class GraphStoreMapDataset(AbstractDataset[dict[str, GraphStore], dict[str, GraphStore]]):
    """A mapping name → `GraphStore` as `<path>/<name>.npz` (e.g. one store per test scenario).

    Saving replaces the folder's `.npz` files, so a scenario that disappeared is not reloaded.
    """

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> dict[str, GraphStore]:
        if not self._path.is_dir():
            raise DatasetError(f"{self._path}: graph store folder not found")
        return {f.stem: GraphStore.load(f) for f in sorted(self._path.glob(f"*{_SUFFIX}"))}

    def save(self, data: dict[str, GraphStore]) -> None:
        for name in data:
            if not name or "/" in name or name.startswith("."):
                raise DatasetError(f"{name!r} is not a valid store name")
        self._path.mkdir(parents=True, exist_ok=True)
        for stale in self._path.glob(f"*{_SUFFIX}"):
            stale.unlink()
        for name, store in data.items():
            store.save(self._path / f"{name}{_SUFFIX}")

    def _exists(self) -> bool:
        return self._path.is_dir() and any(self._path.glob(f"*{_SUFFIX}"))

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
