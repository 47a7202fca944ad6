"""Capture discovery: split, scenario and attack kind from `<split folder>/<capture>.csv[.gz]`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kedro.io import DatasetError

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.ingestion.captures import CaptureError, describe, strip_suffix
from tests.ingestion.helpers import csv_text, load_params, write_capture

KINDS = load_params()["attack_kinds"]

TEST_SCENARIOS = [
    "test_01_known_vehicle_known_attack",
    "test_02_unknown_vehicle_known_attack",
    "test_03_known_vehicle_unknown_attack",
    "test_04_unknown_vehicle_unknown_attack",
    "test_05_suppress",
    "test_06_masquerade",
]


@pytest.mark.parametrize(
    ("relpath", "split", "kind"),
    [
        ("train_01_attack_free/accessory-1.csv", "train_attack_free", "none"),
        ("train_01_attack_free/accessory-2.csv.gz", "train_attack_free", "none"),
        # attack-free captures are "none" whatever their name says
        ("train_01_attack_free/DoS-7.csv", "train_attack_free", "none"),
        ("train_02_with_attacks/accessory-1.csv.gz", "train_with_attacks", "none"),
        ("train_02_with_attacks/DoS-1.csv.gz", "train_with_attacks", "DoS"),
        ("train_02_with_attacks/dos-12.csv", "train_with_attacks", "DoS"),
        ("train_02_with_attacks/targeted_payload_fuzzing-2.csv", "train_with_attacks", "fuzzing"),
        ("train_02_with_attacks/force-neutral-1.csv", "train_with_attacks", "force_neutral"),
        ("train_02_with_attacks/force_neutral_2.csv", "train_with_attacks", "force_neutral"),
        ("train_02_with_attacks/rpm-1.csv", "train_with_attacks", "rpm"),
        ("train_02_with_attacks/standstill-2.csv", "train_with_attacks", "standstill"),
        ("test_01_known_vehicle_known_attack/DoS-3.csv.gz", "test", "DoS"),
        ("test_03_known_vehicle_unknown_attack/speed-3.csv", "test", "speed"),
        ("test_03_known_vehicle_unknown_attack/double-3.csv", "test", "double"),
        ("test_03_known_vehicle_unknown_attack/triple-3.csv", "test", "triple"),
        ("test_03_known_vehicle_unknown_attack/interval-3.csv", "test", "interval"),
        ("test_04_unknown_vehicle_unknown_attack/systematic-4.csv.gz", "test", "systematic"),
        ("test_04_unknown_vehicle_unknown_attack/fuzzing-4.csv", "test", "fuzzing"),
        ("test_05_suppress/suppress-1.csv", "test", "suppress"),
        ("test_06_masquerade/masquerade-1.csv", "test", "masquerade"),
        # no known word: the stem without its trailing index
        ("test_03_known_vehicle_unknown_attack/replay-3.csv", "test", "replay"),
        ("test_03_known_vehicle_unknown_attack/bit_flip_7.csv.gz", "test", "bit_flip"),
    ],
)
def test_describe(relpath: str, split: str, kind: str) -> None:
    folder, name = relpath.split("/")
    stem = name.removesuffix(".gz").removesuffix(".csv")
    info = describe(relpath, KINDS)
    assert info.capture == f"{folder}/{stem}"
    assert info.split == split
    assert info.scenario == folder
    assert info.attack_kind == kind


@pytest.mark.parametrize("scenario", TEST_SCENARIOS)
def test_test_scenarios_are_the_folder_names(scenario: str) -> None:
    info = describe(f"{scenario}/x-1.csv", KINDS)
    assert (info.split, info.scenario) == ("test", scenario)


@pytest.mark.parametrize("folder", ["train_01", "validation", "attacks", "raw"])
def test_unknown_split_folder_is_an_error(folder: str) -> None:
    with pytest.raises(CaptureError, match=folder):
        describe(f"{folder}/DoS-1.csv", KINDS)


@pytest.mark.parametrize("relpath", ["DoS-1.csv", "set_01/train_02_with_attacks/DoS-1.csv"])
def test_capture_must_sit_in_a_split_folder(relpath: str) -> None:
    with pytest.raises(CaptureError, match=relpath):
        describe(relpath, KINDS)


def test_strip_suffix() -> None:
    assert strip_suffix("DoS-1.csv.gz") == "DoS-1"
    assert strip_suffix("DoS-1.csv") == "DoS-1"
    assert strip_suffix("a.gz.csv") == "a.gz"


def test_folder_dataset_finds_csv_and_csv_gz_in_split_folders(tmp_path: Path) -> None:
    text = csv_text("1.0,1E5,00,0")
    for relpath in [
        "train_02_with_attacks/DoS-1.csv",
        "train_01_attack_free/accessory-1.csv.gz",
        "test_05_suppress/suppress-1.csv",
    ]:
        write_capture(tmp_path, relpath, text)
    # none of these is a capture
    write_capture(tmp_path, "top-level.csv", text)
    write_capture(tmp_path, "test_05_suppress/notes.txt", "hello")
    write_capture(tmp_path, "test_05_suppress/old.csv.bak", text)
    write_capture(tmp_path, "test_05_suppress/deeper/suppress-2.csv", text)
    (tmp_path / "train_02_with_attacks" / "folder.csv").mkdir()

    captures = CaptureFolderDataset(str(tmp_path)).load()
    assert [c.relpath for c in captures] == [
        "test_05_suppress/suppress-1.csv",
        "train_01_attack_free/accessory-1.csv.gz",
        "train_02_with_attacks/DoS-1.csv",
    ]
    assert all(c.file == str(tmp_path / c.relpath) for c in captures)
    # the gzip-compressed capture is read as text, like the plain one
    assert captures[1].table.to_pydict() == captures[0].table.to_pydict()


def load_error(path: Path) -> CaptureError:
    """The CaptureError of loading the folder (Kedro wraps it in a DatasetError)."""
    with pytest.raises(DatasetError) as info:
        CaptureFolderDataset(str(path)).load()
    assert isinstance(info.value.__cause__, CaptureError)
    return info.value.__cause__


def test_folder_dataset_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "set_09"
    assert re.fullmatch(f"{re.escape(str(missing))}: .*not found", str(load_error(missing)))


def test_folder_dataset_without_captures(tmp_path: Path) -> None:
    write_capture(tmp_path, "train_01_attack_free/README.md", "nothing here")
    write_capture(tmp_path, "accessory-1.csv", csv_text("1.0,1E5,00,0"))  # not in a split folder
    message = str(load_error(tmp_path))
    assert re.fullmatch(f"{re.escape(str(tmp_path))}: no captures found.*", message)


def test_folder_dataset_is_read_only(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="read-only"):
        CaptureFolderDataset(str(tmp_path)).save([])


def test_folder_dataset_stops_on_a_broken_file(tmp_path: Path) -> None:
    write_capture(tmp_path, "train_01_attack_free/accessory-1.csv", csv_text("1.0,1E5,00,0"))
    broken = write_capture(tmp_path, "train_02_with_attacks/DoS-1.csv", "")
    assert str(load_error(tmp_path)) == f"{broken}: empty file"
