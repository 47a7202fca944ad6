"""Shared fixtures: real data paths and a throw-away copy of the project for `kedro run`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE = PROJECT / "data" / "01_raw" / "can-train-and-test"
SHARED = PROJECT.parent / "shared" / "data" / "can-train-and-test"


class KedroProject:
    """A copy of the project (conf, shipped raw sample, pyproject) in a temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
        env.pop("KEDRO_LOGGING_CONFIG", None)
        proc = subprocess.run(
            [sys.executable, "-m", "kedro", "run", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kedro run {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def path(self, relative: str) -> Path:
        return self.root / relative


@pytest.fixture
def kedro_project(tmp_path: Path) -> KedroProject:
    root = tmp_path / "project"
    root.mkdir()
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(PROJECT / name, root / name)
    shutil.copytree(PROJECT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    shutil.copytree(PROJECT / "data" / "01_raw", root / "data" / "01_raw")
    (root / "src").mkdir()  # the package itself is installed; kedro only needs the folder
    return KedroProject(root)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present")
    return SHARED
