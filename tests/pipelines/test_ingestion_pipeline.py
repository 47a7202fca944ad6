"""End to end: `kedro run --pipeline ingestion --env smoke` on the shipped sample, outputs checked
against the raw captures read independently with the csv module."""

from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kd_gat.ingestion.schemas import REASONS
from tests.conftest import PROJECT
from tests.ingestion.helpers import BYTE_COLUMNS, csv_text, expected_frame, expected_reject

DATASET = Path("data/01_raw/can-train-and-test/set_01")
FRAMES = "data/02_intermediate/frames.parquet"
REJECTS = "data/02_intermediate/rejected_frames.parquet"
REPORT = "data/08_reporting/ingestion_report.json"
RUN = ("--pipeline", "ingestion", "--env", "smoke")


def documented_dtypes() -> dict[str, str]:
    """Column -> dtype of `frames`, as the table in docs/interfaces.md states them."""
    text = (PROJECT / "docs" / "interfaces.md").read_text()
    section = text.split("## `frames`", 1)[1].split("\n## ", 1)[0]
    dtypes = {}
    for name, dtype in re.findall(r"^\| *([a-z_0-9 …]+?) *\| *([a-z0-9]+) *\|", section, re.M):
        if name == "column":
            continue
        if "…" in name:  # byte_0 … byte_7
            first, last = (int(n.rsplit("_", 1)[1]) for n in name.split("…"))
            dtypes.update({f"byte_{i}": dtype for i in range(first, last + 1)})
        else:
            dtypes[name] = dtype
    return dtypes


def read_csv_rows(path: Path) -> list[str]:
    """Data lines of a capture (header and blank lines dropped), read with the csv module."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        header, *records = list(csv.reader(f))
    assert header == ["timestamp", "arbitration_id", "data_field", "attack"]
    return [",".join(r) for r in records if r]


def capture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name.removesuffix('.gz').removesuffix('.csv')}"


def check_run(project, n_captures: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Outputs of a finished run, checked against every shipped capture still in the dataset."""
    frames = pd.read_parquet(project.path(FRAMES))
    rejects = pd.read_parquet(project.path(REJECTS))
    report = json.loads(project.path(REPORT).read_text())

    assert {c: str(t) for c, t in frames.dtypes.items()} == documented_dtypes()
    assert list(rejects.columns) == ["capture", "file", "row", "column", "reason", "value", "line"]
    assert report["totals"]["captures"] == len(report["captures"]) == n_captures
    assert frames["capture"].nunique() == n_captures

    skipped = {d["file"] for d in report["duplicates_skipped"]}
    files = sorted(
        f
        for f in project.path(str(DATASET)).glob("*/*.csv*")
        if f.relative_to(project.path(str(DATASET))).as_posix() not in skipped
    )
    assert len(files) == n_captures
    by_capture = {c["capture"]: c for c in report["captures"]}
    assert sorted(by_capture) == sorted(capture_id(f) for f in files)
    for path in files:
        capture = capture_id(path)
        lines = read_csv_rows(path)
        verdicts = [expected_reject(line) for line in lines]
        numbered = enumerate(zip(lines, verdicts, strict=True), 1)
        valid = [(i, line) for i, (line, verdict) in numbered if verdict is None]
        part = frames[frames["capture"] == capture]
        stats = by_capture[capture]
        assert stats["rows_in"] == len(lines), capture
        assert stats["rows_valid"] + stats["rows_rejected"] == stats["rows_in"]
        assert len(part) == stats["rows_valid"] == len(valid), capture
        assert (rejects["capture"] == capture).sum() == stats["rows_rejected"]
        assert part["row"].tolist() == [i for i, _ in valid]
        labels = np.array([line.rsplit(",", 1)[1] == "1" for _, line in valid])
        assert part["attack"].to_numpy().tolist() == labels.astype(int).tolist()
        assert stats["attack_share"] == pytest.approx(labels.mean())
        columns = ["timestamp", "can_id", "dlc", *BYTE_COLUMNS, "attack"]
        want = pd.DataFrame([expected_frame(line) for _, line in valid], columns=columns)
        got = part[columns].reset_index(drop=True)
        assert (got.to_numpy() == want.to_numpy()).all(), capture
        assert set(part["split"]) == {stats["split"]}
        assert set(part["scenario"]) == {path.parent.name}
    keys = list(zip(frames["capture"].astype(str), frames["row"], strict=True))
    assert keys == sorted(keys)
    return frames, rejects, report


@pytest.mark.e2e
def test_ingestion_run_on_the_shipped_sample(kedro_project) -> None:
    shipped = sorted((PROJECT / DATASET).glob("*/*.csv*"))
    assert len(shipped) == 7
    kedro_project.run(*RUN)

    frames, rejects, report = check_run(kedro_project, n_captures=7)
    # the shipped sample is clean: every line minus the header is a frame
    for path in shipped:
        with gzip.open(path, "rt") as f:
            n_lines = sum(1 for _ in f)
        assert (frames["capture"] == capture_id(path)).sum() == n_lines - 1
    assert rejects.empty
    assert report["duplicates_skipped"] == []
    assert report["totals"]["rows_in"] == len(frames)
    kinds = frames.groupby("capture", observed=True)["attack_kind"].first().astype(str).to_dict()
    assert kinds == {
        "test_01_known_vehicle_known_attack/DoS-3": "DoS",
        "test_04_unknown_vehicle_unknown_attack/systematic-4": "systematic",
        "train_01_attack_free/accessory-1": "none",
        "train_01_attack_free/accessory-2": "none",
        "train_02_with_attacks/DoS-1": "DoS",
        "train_02_with_attacks/DoS-2": "DoS",
        "train_02_with_attacks/targeted_payload_fuzzing-2": "fuzzing",
    }


BAD_CAPTURE = csv_text(
    "1672531300.000000,1E5,0102030405060708,0",
    "1672531300.000100,0C1,00000000,1",
    "1672531300.000200,0C1,0000000,1",  # odd-length payload
    "1672531300.000300,7FF,,0",
)


def add_duplicate_and_bad_capture(project) -> tuple[Path, Path]:
    dataset = project.path(str(DATASET))
    duplicate = dataset / "train_02_with_attacks" / "accessory-1.csv.gz"
    shutil.copy(dataset / "train_01_attack_free" / "accessory-1.csv.gz", duplicate)
    bad = dataset / "train_02_with_attacks" / "rpm-1.csv"
    bad.write_text(BAD_CAPTURE)
    return duplicate, bad


@pytest.mark.e2e
def test_ingestion_run_skips_duplicates_and_quarantines_bad_rows(kedro_project) -> None:
    _, bad = add_duplicate_and_bad_capture(kedro_project)
    kedro_project.run(*RUN)

    frames, rejects, report = check_run(kedro_project, n_captures=8)
    assert report["duplicates_skipped"] == [
        {
            "file": "train_02_with_attacks/accessory-1.csv.gz",
            "same_content_as": "train_01_attack_free/accessory-1.csv.gz",
        }
    ]
    assert "train_02_with_attacks/accessory-1" not in set(frames["capture"])
    assert len(rejects) == 1
    reject = rejects.iloc[0].to_dict()
    assert Path(reject.pop("file")).resolve() == bad.resolve()
    assert reject == {
        "capture": "train_02_with_attacks/rpm-1",
        "row": 3,
        "column": "data_field",
        "reason": REASONS["hex_payload"],
        "value": "0000000",
        "line": "1672531300.000200,0C1,0000000,1",
    }
    rpm = frames[frames["capture"] == "train_02_with_attacks/rpm-1"]
    assert rpm["row"].tolist() == [1, 2, 4]
    assert set(rpm["attack_kind"]) == {"rpm"}
    stats = next(c for c in report["captures"] if c["capture"] == "train_02_with_attacks/rpm-1")
    assert stats["rejects_by_reason"] == {REASONS["hex_payload"]: 1}
    assert report["totals"]["rows_rejected"] == 1
    assert report["totals"]["rows_in"] == 7 * 20000 + 4


def run_fail(project, monkeypatch, *env: str):
    """Run with on_invalid=fail on a dataset holding a bad row; the output without line wraps."""
    monkeypatch.setenv("COLUMNS", "1000")  # keep rich from wrapping file paths
    _, bad = add_duplicate_and_bad_capture(project)
    proc = project.run(
        "--pipeline", "ingestion", *env, "--params", "ingestion.on_invalid=fail", check=False
    )
    return proc, bad, proc.stdout + proc.stderr


@pytest.mark.e2e
def test_ingestion_run_with_on_invalid_fail_stops(kedro_project, monkeypatch) -> None:
    proc, bad, output = run_fail(kedro_project, monkeypatch)
    assert proc.returncode != 0
    assert "IngestionError" in output
    assert "1 invalid rows (on_invalid=fail)" in output
    assert f"{bad.name}: row 3, column data_field: {REASONS['hex_payload']} ('0000000')" in output
    assert not kedro_project.path(FRAMES).exists()
    assert not kedro_project.path(REPORT).exists()


@pytest.mark.e2e
def test_on_invalid_fail_override_in_the_smoke_env(kedro_project, monkeypatch) -> None:
    proc, bad, output = run_fail(kedro_project, monkeypatch, "--env", "smoke")
    assert proc.returncode != 0
    # the environment overrode one key of `ingestion`; the group was not replaced whole
    assert "ValidationError" not in output
    assert f"{bad.name}: row 3, column data_field: {REASONS['hex_payload']}" in output
