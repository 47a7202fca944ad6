"""Shared fixtures: real data paths and a throw-away copy of the project for `kedro run`."""

from __future__ import annotations

import gzip
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
            raise AssertionError(
                f"kedro run {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def path(self, relative: str) -> Path:
        return self.root / relative


def copy_project(root: Path) -> KedroProject:
    """A runnable copy of the project (conf without `local`, shipped raw data, notebooks)."""
    root.mkdir(parents=True)
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(PROJECT / name, root / name)
    shutil.copytree(PROJECT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    shutil.copytree(PROJECT / "data" / "01_raw", root / "data" / "01_raw")
    shutil.copytree(PROJECT / "notebooks", root / "notebooks")
    (root / "src").mkdir()  # the package itself is installed; kedro only needs the folder
    return KedroProject(root)


@pytest.fixture
def kedro_project(tmp_path: Path) -> KedroProject:
    return copy_project(tmp_path / "project")


def _cut(src: Path, dst: Path, start: int, rows: int) -> None:
    """Copy `rows` data lines of a shipped capture (from `start`) into a new capture file."""
    with gzip.open(src, "rt") as f:
        lines = f.read().splitlines(keepends=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("".join([lines[0], *lines[1 + start : 1 + start + rows]]))


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> KedroProject:
    """One full default `kedro run --env smoke`, shared by the end-to-end tests.

    Two more test scenarios are added, cut from real shipped captures, so that every scenario
    kind of the full dataset (suppress, masquerade) flows through evaluation.
    """
    project = copy_project(tmp_path_factory.mktemp("smoke") / "project")
    raw = project.path("data/01_raw/can-train-and-test/set_01")
    _cut(
        raw / "test_01_known_vehicle_known_attack/DoS-3.csv.gz",
        raw / "test_05_suppress/suppress-1.csv",
        0,
        8_000,
    )
    _cut(
        raw / "test_04_unknown_vehicle_unknown_attack/systematic-4.csv.gz",
        raw / "test_06_masquerade/masquerade-1.csv",
        2_000,
        8_000,
    )
    project.run("--env", "smoke")
    return project


# set_02 → car C on slices of the shared captures: capture → first data row of its 20,000
TRANSFER_SLICES = {
    "train_01_attack_free/accessory-1": 0,
    "train_02_with_attacks/untargeted_payload_fuzzing-1": 0,  # attacks from row 3,701
    "test_01_known_vehicle_known_attack/systematic-4": 100_000,  # from 106,255
    "test_04_unknown_vehicle_unknown_attack/DoS-3": 55_000,  # car C; from 60,380
    "test_05_suppress/suppress-1": 0,
}
TRANSFER_ROWS = 20_000


@pytest.fixture(scope="session")
def transfer_run(tmp_path_factory: pytest.TempPathFactory) -> KedroProject:
    """`kedro run --env smoke` in the other direction than the shipped sample's: set_02
    (training car B) → its test_04 (car C, another maker), on 20,000-row slices of the shared
    captures around their attacks, with a slice of C's attack-free recording (12 s) as the only
    profile (`profiles.min_minutes` lowered to let it make one)."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present")
    project = copy_project(tmp_path_factory.mktemp("transfer") / "project")
    raw = project.path("data/01_raw/transfer/set_02")
    for capture, start in TRANSFER_SLICES.items():
        src = SHARED / "set_02" / f"{capture}.csv.gz"
        _cut(src, raw / f"{capture}.csv", start, TRANSFER_ROWS)
    recording = SHARED.parent / "vehicle_profiles" / "C" / "attack-free-4.csv.gz"
    _cut(recording, project.path("data/01_raw/transfer_profiles/C/attack-free-4.csv"), 0, 20_000)
    params = (
        "raw_root=data/01_raw/transfer,dataset=set_02,"
        "calibration_root=data/01_raw/transfer_profiles,profiles.min_minutes=0.1"
    )
    project.run("--env", "smoke", "--params", params)
    return project


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present")
    return SHARED
