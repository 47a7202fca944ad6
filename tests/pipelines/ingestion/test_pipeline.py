"""Ingestion stage run in-process on the shipped sample, its outputs checked against the raw
captures read independently with the csv module; duplicates, quarantine and `on_invalid=fail`
on a copy of the sample."""

from __future__ import annotations

import csv
import gzip
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.ingestion.schemas import REASONS
from kd_gat.ingestion.validate import IngestionError
from kd_gat.pipelines.ingestion import create_pipeline
from tests.conftest import PROJECT
from tests.ingestion.helpers import BYTE_COLUMNS, csv_text, expected_frame, expected_reject
from tests.pipelines.conftest import DATASET, load_parameters, run_stage

N_SHIPPED = 7
ROWS_PER_CAPTURE = 20_000


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


def check_outputs(outputs, dataset: Path, n_captures: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stage's outputs, checked against every capture file of `dataset` not skipped as a
    duplicate."""
    frames, rejects, report = (
        outputs["frames"],
        outputs["rejected_frames"],
        outputs["ingestion_report"],
    )
    assert {c: str(t) for c, t in frames.dtypes.items()} == documented_dtypes()
    assert list(rejects.columns) == ["capture", "file", "row", "column", "reason", "value", "line"]
    assert report["totals"]["captures"] == len(report["captures"]) == n_captures
    assert frames["capture"].nunique() == n_captures

    skipped = {d["file"] for d in report["duplicates_skipped"]}
    files = sorted(
        f for f in dataset.glob("*/*.csv*") if f.relative_to(dataset).as_posix() not in skipped
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
        columns = ["timestamp", "can_id", "dlc", *BYTE_COLUMNS, "attack"]
        want = pd.DataFrame([expected_frame(line) for _, line in valid], columns=columns)
        # frames in time order (stable: equal timestamps keep file order), each keeping its row
        order = np.argsort(want["timestamp"].to_numpy(), kind="stable")
        rows = np.array([i for i, _ in valid])
        assert part["row"].tolist() == rows[order].tolist(), capture
        assert stats["rows_moved"] == int((order != np.arange(len(order))).sum())
        got = part[columns].reset_index(drop=True)
        assert (got.to_numpy() == want.iloc[order].to_numpy()).all(), capture
        labels = want["attack"].to_numpy() == 1
        assert labels.tolist() == [line.rsplit(",", 1)[1] == "1" for _, line in valid]
        assert stats["attack_share"] == pytest.approx(labels.mean())
        assert set(part["split"]) == {stats["split"]}
        assert set(part["scenario"]) == {path.parent.name}
    captures = frames["capture"].astype(str)
    assert captures.tolist() == sorted(captures)  # one block per capture, by name
    return frames, rejects


def test_pipeline_wiring() -> None:
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "raw_captures",
        "params:ingestion",
        "params:raw_root",
        "params:dataset",
    }
    assert pipeline.outputs() == {"frames", "rejected_frames", "ingestion_report"}


def test_ingestion_stage_on_the_shipped_sample(ingestion_run, stage_params) -> None:
    shipped = sorted(DATASET.glob("*/*.csv*"))
    assert len(shipped) == N_SHIPPED
    frames, rejects = check_outputs(ingestion_run.outputs, DATASET, n_captures=N_SHIPPED)
    report = ingestion_run["ingestion_report"]
    # the shipped sample is clean: every line minus the header is a frame
    for path in shipped:
        with gzip.open(path, "rt") as f:
            n_lines = sum(1 for _ in f)
        assert (frames["capture"] == capture_id(path)).sum() == n_lines - 1
    assert rejects.empty
    assert report["duplicates_skipped"] == []
    assert report["totals"]["rows_in"] == len(frames)
    # the public parameters naming the data are recorded with it
    assert report["source"] == {
        "raw_root": stage_params["raw_root"],
        "dataset": stage_params["dataset"],
    }
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


@pytest.fixture
def dataset_with_duplicate_and_bad_capture(tmp_path) -> tuple[Path, Path]:
    """A copy of the sample plus a duplicate capture and a capture holding one bad row."""
    dataset = tmp_path / "set_01"
    shutil.copytree(DATASET, dataset)
    duplicate = dataset / "train_02_with_attacks" / "accessory-1.csv.gz"
    shutil.copy(dataset / "train_01_attack_free" / "accessory-1.csv.gz", duplicate)
    bad = dataset / "train_02_with_attacks" / "rpm-1.csv"
    bad.write_text(BAD_CAPTURE)
    return dataset, bad


def run_on(dataset: Path, params: dict):
    return run_stage(
        "ingestion", {"raw_captures": CaptureFolderDataset(str(dataset)).load()}, params
    )


def test_ingestion_stage_skips_duplicates_and_quarantines_bad_rows(
    dataset_with_duplicate_and_bad_capture, params
) -> None:
    dataset, bad = dataset_with_duplicate_and_bad_capture
    run = run_on(dataset, params)

    frames, rejects = check_outputs(run.outputs, dataset, n_captures=N_SHIPPED + 1)
    report = run["ingestion_report"]
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
    assert report["totals"]["rows_in"] == N_SHIPPED * ROWS_PER_CAPTURE + 4


def test_ingestion_stage_with_on_invalid_fail_stops(
    dataset_with_duplicate_and_bad_capture, params
) -> None:
    dataset, bad = dataset_with_duplicate_and_bad_capture
    params["ingestion"]["on_invalid"] = "fail"
    with pytest.raises(IngestionError) as failed:
        run_on(dataset, params)
    message = str(failed.value)
    assert "1 invalid rows (on_invalid=fail)" in message
    assert f"{bad.name}: row 3, column data_field: {REASONS['hex_payload']} ('0000000')" in message


def test_on_invalid_fail_from_the_command_line_overrides_one_key_in_the_smoke_env(
    dataset_with_duplicate_and_bad_capture, stage_params
) -> None:
    """`kedro run --env smoke --params ingestion.on_invalid=fail`: the runtime value replaces one
    key of `ingestion`; the group is not replaced whole (it still validates and names kinds)."""
    dataset, bad = dataset_with_duplicate_and_bad_capture
    params = load_parameters("smoke", runtime_params={"ingestion": {"on_invalid": "fail"}})
    assert params["ingestion"]["on_invalid"] == "fail"
    assert params["ingestion"]["attack_kinds"] == stage_params["ingestion"]["attack_kinds"]
    with pytest.raises(IngestionError, match=re.escape(f"{bad.name}: row 3, column data_field")):
        run_on(dataset, params)
