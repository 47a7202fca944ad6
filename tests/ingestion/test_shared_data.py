"""One real capture from ../shared/data, checked row by row against the csv module."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest

from kd_gat.ingestion.read import read_capture
from kd_gat.pipelines.ingestion.nodes import ingest_captures
from tests.ingestion.helpers import BYTE_COLUMNS, expected_frame, expected_reject, load_params


@pytest.mark.shared
@pytest.mark.parametrize(
    "relpath",
    [
        "test_01_known_vehicle_known_attack/DoS-3.csv.gz",
        # fuzzing is where the full dataset has malformed payloads
        "train_02_with_attacks/targeted_payload_fuzzing-2.csv.gz",
    ],
)
def test_real_capture(shared_data: Path, relpath: str) -> None:
    path = shared_data / "set_01" / relpath
    with gzip.open(path, "rt", newline="") as f:
        header, *records = list(csv.reader(f))
    assert header == ["timestamp", "arbitration_id", "data_field", "attack"]
    lines = [",".join(r) for r in records if r]
    verdicts = [expected_reject(line) for line in lines]
    valid = [line for line, verdict in zip(lines, verdicts, strict=True) if verdict is None]
    attacks = sum(line.rsplit(",", 1)[1] == "1" for line in valid)

    frames, rejects, report = ingest_captures([read_capture(path, relpath)], load_params())

    stats = report["captures"][0]
    assert stats["rows_in"] == len(lines)
    assert stats["rows_valid"] + stats["rows_rejected"] == stats["rows_in"]
    assert stats["rows_valid"] == len(frames) == len(valid)
    assert stats["rows_rejected"] == len(rejects) == len(lines) - len(valid)
    assert int(frames["attack"].sum()) == stats["attack_frames"] == attacks
    assert stats["attack_share"] == pytest.approx(attacks / len(valid))
    want_rows = [i for i, verdict in enumerate(verdicts, 1) if verdict is None]
    assert (np.diff(frames["timestamp"].to_numpy()) >= 0).all()  # in time order
    assert stats["rows_moved"] == int((frames["row"].to_numpy() != want_rows).sum())
    frames = frames.sort_values("row", ignore_index=True)  # back to file order
    assert frames["row"].tolist() == want_rows
    assert sorted(rejects["row"]) == [i for i, v in enumerate(verdicts, 1) if v is not None]
    # spot-check decoded values on an even spread of rows
    picks = np.linspace(0, len(valid) - 1, 500).astype(int)
    columns = ["timestamp", "can_id", "dlc", *BYTE_COLUMNS, "attack"]
    got = frames[columns].iloc[picks].to_dict("records")
    assert got == [expected_frame(valid[i]) for i in picks]
