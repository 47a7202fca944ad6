"""Kedro dataset reading a folder of raw CAN captures (`<split folder>/<capture>.csv[.gz]`).

A capture file is the dataset's CSV (`.csv`, `.csv.gz`, or python-can's CSV), a candump log
(`.log`, `.log.gz`), or a Vector ASC (`.asc`) or BLF (`.blf`) log: `CAPTURE_SUFFIXES`. Only I/O
lives here: finding the files and reading each with `kd_gat.ingestion.read`. No captures at all
raises `CaptureError` naming the folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from kd_gat.ingestion.captures import CAPTURE_SUFFIXES, CaptureError, RawCapture
from kd_gat.ingestion.read import read_capture

_ANY_SUFFIX = ".csv[.gz], .log[.gz], .asc or .blf"


class CaptureFolderDataset(AbstractDataset[None, list[RawCapture]]):
    """Read-only: every `<split folder>/<capture><suffix>` under `path`, sorted by name, for
    each suffix of `CAPTURE_SUFFIXES` (`.csv[.gz]`, `.log[.gz]`, `.asc`, `.blf`).

    `labelled: false` reads new captures to score: any file with one of these suffixes below
    `path`, at any depth; a CSV may lack the `attack` column. The log formats carry no labels: a
    labelled dataset accepts them only in `train_*_attack_free` folders.
    """

    def __init__(
        self, path: str, labelled: bool = True, metadata: dict[str, Any] | None = None
    ) -> None:
        self._path = Path(path)
        self._labelled = labelled
        self.metadata = metadata

    def _files(self) -> list[Path]:
        if not self._path.is_dir():
            raise CaptureError(f"{self._path}: dataset folder not found")
        found = self._path.glob("*/*") if self._labelled else _below(self._path)
        files = sorted(f for f in found if f.is_file() and f.name.endswith(CAPTURE_SUFFIXES))
        if not files:
            raise CaptureError(
                f"{self._path}: no captures found (expected "
                + (
                    f"<split folder>/<capture>{_ANY_SUFFIX})"
                    if self._labelled
                    else f"*{_ANY_SUFFIX} below it)"
                )
            )
        return files

    def load(self) -> list[RawCapture]:
        return [
            read_capture(f, f.relative_to(self._path).as_posix(), self._labelled)
            for f in self._files()
        ]

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._path}: raw captures are read-only")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "labelled": self._labelled}


def _below(root: Path) -> Iterator[Path]:
    """Every path below `root`, following symlinked folders (a profile folder may link each car's
    recordings; `Path.rglob` would skip them), each real folder once (no symlink loops)."""
    seen: set[str] = set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            subfolders.clear()
            continue
        seen.add(real)
        yield from (Path(folder, name) for name in names)
