"""ingest_captures on hand-written captures: decoded values, every reject reason, the report."""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic
import pytest

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.ingestion.read import read_capture
from kd_gat.ingestion.schemas import REASONS, Frames, RejectedFrames
from kd_gat.ingestion.validate import IngestionError
from kd_gat.pipelines.ingestion.nodes import ingest_captures
from tests.ingestion.helpers import (
    BYTE_COLUMNS,
    CORPUS,
    FIELD_COUNT,
    csv_text,
    data_lines,
    expected_frame,
    expected_reject,
    load_params,
    write_capture,
)

SET_BAD = CORPUS / "set_bad"
PARAMS = load_params()
CAPTURE_COLUMNS = ["capture", "split", "scenario", "attack_kind"]


def ingest(root: Path, **params):
    captures = CaptureFolderDataset(str(root)).load()
    return ingest_captures(captures, {**PARAMS, **params})


def ingest_one(tmp_path: Path, text: str, relpath: str = "train_02_with_attacks/DoS-1.csv"):
    path = write_capture(tmp_path, relpath, text)
    return (*ingest_captures([read_capture(path, relpath)], PARAMS), path)


def rejects_of(rejects: pd.DataFrame, capture: str) -> list[tuple]:
    part = rejects[rejects["capture"] == capture].sort_values("row")
    return list(
        part[["row", "column", "reason", "value", "line"]].itertuples(index=False, name=None)
    )


@pytest.fixture(scope="module")
def corpus_run():
    return ingest(SET_BAD)


# --- decoded values ------------------------------------------------------------------------------


def test_hand_written_rows_decode_exactly(tmp_path: Path) -> None:
    lines = [
        "1672531200.000000,1E5,0102030405060708,0",
        "1672531200.5,1FFFFFFF,,1",
        "0.25,1fffffff,ff,0",
        "1e3,0c1,aBcD,1",
        "7,000,00000000,0",
    ]
    frames, rejects, _, _ = ingest_one(tmp_path, csv_text(*lines))
    assert rejects.empty
    assert frames["row"].tolist() == [3, 5, 4, 1, 2]  # in time order (timestamps go back)
    frames = frames.sort_values("row", ignore_index=True)
    assert frames["can_id"].tolist() == [485, 536870911, 536870911, 0xC1, 0]
    assert frames["dlc"].tolist() == [8, 0, 1, 2, 4]
    assert frames[BYTE_COLUMNS].to_numpy().tolist() == [
        [1, 2, 3, 4, 5, 6, 7, 8],
        [0] * 8,
        [255, 0, 0, 0, 0, 0, 0, 0],
        [0xAB, 0xCD, 0, 0, 0, 0, 0, 0],
        [0] * 8,
    ]
    assert frames["timestamp"].tolist() == [1672531200.0, 1672531200.5, 0.25, 1000.0, 7.0]
    assert frames["attack"].tolist() == [0, 1, 0, 1, 0]
    assert (frames["capture"] == "train_02_with_attacks/DoS-1").all()
    assert (frames["split"] == "train_with_attacks").all()
    assert (frames["scenario"] == "train_02_with_attacks").all()
    assert (frames["attack_kind"] == "DoS").all()


def test_timestamps_that_go_back_are_put_in_time_order(tmp_path: Path) -> None:
    lines = ["3.0,1E5,01,0", "1.0,1E6,02,0", "2.0,1E7,03,1", "2.0,1E8,04,0", "4.0,1E9,05,0"]
    frames, rejects, report, _ = ingest_one(tmp_path, csv_text(*lines))
    assert rejects.empty  # nothing is dropped ...
    assert frames["timestamp"].tolist() == [1.0, 2.0, 2.0, 3.0, 4.0]  # ... frames in time order
    assert frames["row"].tolist() == [2, 3, 4, 1, 5]  # equal times keep file order
    assert frames["byte_0"].tolist() == [2, 3, 4, 1, 5]  # each frame keeps its own fields
    assert report["captures"][0]["rows_moved"] == 4
    _, _, in_order, _ = ingest_one(tmp_path / "sorted", csv_text(*sorted(lines)))
    assert in_order["captures"][0]["rows_moved"] == 0


def test_frames_dtypes(tmp_path: Path) -> None:
    frames, _, _, _ = ingest_one(tmp_path, csv_text("1.5,1E5,0102,1", "2.5,1E5,zz,0"))
    expected = {
        **dict.fromkeys(CAPTURE_COLUMNS, "category"),
        "row": "int64",
        "timestamp": "float64",
        "can_id": "int32",
        "dlc": "uint8",
        **dict.fromkeys(BYTE_COLUMNS, "uint8"),
        "attack": "int8",
    }
    assert {c: str(t) for c, t in frames.dtypes.items()} == expected
    assert list(frames.columns) == list(expected)
    Frames.validate(frames)


# --- every reject reason -------------------------------------------------------------------------

HEX_ID, HEX_PAYLOAD = REASONS["hex_can_id"], REASONS["hex_payload"]
LABEL, TIME, MISSING = REASONS["binary_label"], REASONS["finite_timestamp"], REASONS["not_nullable"]

# set_bad/train_02_with_attacks/DoS-1.csv, row by row: (row, column, reason, value) of each reject
DOS_1_REJECTS = [
    (2, "data_field", HEX_PAYLOAD, "010203040506070"),  # odd length
    (3, "data_field", HEX_PAYLOAD, "01020304050607GG"),  # not hex
    (4, "data_field", HEX_PAYLOAD, "010203040506070809"),  # 9 bytes
    (5, "arbitration_id", HEX_ID, "1G5"),  # not hex
    (6, "arbitration_id", HEX_ID, "20000000"),  # 30 bits
    (7, "timestamp", MISSING, ""),
    (8, "arbitration_id", MISSING, ""),
    (9, "attack", MISSING, ""),
    (10, "attack", LABEL, "2"),
    (11, "attack", LABEL, "yes"),
    (12, "timestamp", TIME, "inf"),
    (13, "timestamp", TIME, "-1.000012"),
    (14, "timestamp", TIME, "12:00:01"),
    (15, "*", FIELD_COUNT, "1.000014,1E5,00"),
    (16, "*", FIELD_COUNT, "1.000015,1E5,00,0,0"),
]


def test_every_reject_reason(corpus_run) -> None:
    frames, rejects, _ = corpus_run
    path = SET_BAD / "train_02_with_attacks" / "DoS-1.csv"
    lines = data_lines(path.read_text())
    got = rejects[rejects["capture"] == "train_02_with_attacks/DoS-1"]
    assert set(got["file"]) == {str(path)}
    assert rejects_of(rejects, "train_02_with_attacks/DoS-1") == [
        (row, column, reason, value, lines[row - 1]) for row, column, reason, value in DOS_1_REJECTS
    ]
    kept = frames[frames["capture"] == "train_02_with_attacks/DoS-1"]
    assert kept["row"].tolist() == [1, 17, 18]
    assert kept["can_id"].tolist() == [0x1E5, 0, 0x1FFFFFFF]
    assert kept["dlc"].tolist() == [8, 0, 4]
    assert kept[BYTE_COLUMNS].to_numpy()[2].tolist() == [0x0A, 0x0B, 0x0C, 0x0D, 0, 0, 0, 0]
    assert kept["attack"].tolist() == [0, 1, 1]


def test_row_numbers_with_malformed_lines_first(corpus_run) -> None:
    """Lines with a wrong field count and blank lines before good ones do not shift rows."""
    frames, rejects, _ = corpus_run
    # accessory-1.csv: a 3-field line, a blank line, a 5-field line, then the frames
    assert rejects_of(rejects, "train_01_attack_free/accessory-1") == [
        (1, "*", FIELD_COUNT, *["1672531200.000000,1E5,0102030405060708"] * 2),
        (2, "*", FIELD_COUNT, *["1672531200.000100,1E5,0102030405060708,0,extra"] * 2),
        (6, "data_field", HEX_PAYLOAD, "0002004", "1672531200.000500,0F1,0002004,0"),
    ]
    kept = frames[frames["capture"] == "train_01_attack_free/accessory-1"]
    assert kept["row"].tolist() == [3, 4, 5, 7]
    assert kept["timestamp"].tolist() == [
        1672531200.0002,
        1672531200.0003,
        1672531200.0004,
        1672531200.0006,
    ]
    assert kept["can_id"].tolist() == [0x0C1, 0x1E9, 0x0F1, 0x1FFFFFFF]
    # masquerade-1.csv has CRLF line ends: the '\r' stays out of the values and lines
    assert rejects_of(rejects, "test_06_masquerade/masquerade-1") == [
        (1, "*", FIELD_COUNT, *["9.000000,1E5;00,0"] * 2),
        (2, "*", FIELD_COUNT, *["9.000100,1E5,00,0,1,2"] * 2),
        (3, "data_field", HEX_PAYLOAD, "0Z", "9.000200,1E5,0Z,0"),
    ]
    kept = frames[frames["capture"] == "test_06_masquerade/masquerade-1"]
    assert kept["row"].tolist() == [4, 5]
    assert kept[["dlc", "byte_0", "byte_1", "attack"]].to_numpy().tolist() == [
        [1, 0, 0, 1],
        [2, 0, 0x11, 0],
    ]


def test_corpus_against_reference_check(corpus_run) -> None:
    """Every corpus capture, row by row, against the plain-Python reference check."""
    frames, rejects, report = corpus_run
    kept_files = [Path(c["file"]) for c in report["captures"]]
    assert len(kept_files) == 5
    for path in kept_files:
        text = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines = data_lines(text.decode())
        capture = f"{path.parent.name}/{path.name.split('.')[0]}"
        want_rejects = [(i, *r) for i, line in enumerate(lines, 1) if (r := expected_reject(line))]
        got = [r[:3] for r in rejects_of(rejects, capture)]
        assert got == want_rejects, capture
        want = [
            (i, expected_frame(line))
            for i, line in enumerate(lines, 1)
            if not expected_reject(line)
        ]
        kept = frames[frames["capture"] == capture]
        assert kept["row"].tolist() == [i for i, _ in want]
        assert kept[list(want[0][1])].to_dict("records") == [values for _, values in want]


# --- report --------------------------------------------------------------------------------------


def test_report(corpus_run) -> None:
    frames, rejects, report = corpus_run
    assert report["on_invalid"] == "quarantine"
    assert report["duplicates_skipped"] == [
        {
            "file": "train_02_with_attacks/accessory-1.csv.gz",
            "same_content_as": "train_01_attack_free/accessory-1.csv",
        }
    ]
    by_capture = {c["capture"]: c for c in report["captures"]}
    assert sorted(by_capture) == [
        "test_01_known_vehicle_known_attack/DoS-3",
        "test_05_suppress/suppress-1",
        "test_06_masquerade/masquerade-1",
        "train_01_attack_free/accessory-1",
        "train_02_with_attacks/DoS-1",
    ]
    for capture, stats in by_capture.items():
        path = Path(stats["file"])
        text = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines = data_lines(text.decode())
        verdicts = [expected_reject(line) for line in lines]
        valid = [line for line, v in zip(lines, verdicts, strict=True) if v is None]
        attacks = sum(line.endswith(",1") for line in valid)
        assert stats["rows_in"] == len(lines), capture
        assert stats["rows_valid"] == len(valid), capture
        assert stats["rows_rejected"] == len(lines) - len(valid), capture
        assert stats["rows_in"] == stats["rows_valid"] + stats["rows_rejected"]
        assert stats["rejects_by_reason"] == dict(Counter(v[1] for v in verdicts if v)), capture
        assert stats["attack_frames"] == attacks
        assert stats["attack_share"] == pytest.approx(attacks / len(valid))
        assert stats["scenario"] == capture.split("/")[0]
        assert stats["sha256"] == hashlib.sha256(text).hexdigest()
    totals = report["totals"]
    assert totals["captures"] == 5
    assert totals["rows_in"] == sum(c["rows_in"] for c in by_capture.values())
    assert totals["rows_valid"] == len(frames) == sum(c["rows_valid"] for c in by_capture.values())
    assert totals["rows_rejected"] == len(rejects)
    assert totals["rows_rejected"] == sum(c["rows_rejected"] for c in by_capture.values())
    assert totals["attack_frames"] == int(frames["attack"].sum())
    assert totals["rejects_by_reason"] == dict(
        sum((Counter(c["rejects_by_reason"]) for c in by_capture.values()), Counter())
    )


def test_corpus_outputs_pass_their_schemas(corpus_run) -> None:
    frames, rejects, _ = corpus_run
    Frames.validate(frames)
    RejectedFrames.validate(rejects)
    assert set(frames["capture"]) == {
        "test_01_known_vehicle_known_attack/DoS-3",
        "test_05_suppress/suppress-1",
        "test_06_masquerade/masquerade-1",
        "train_01_attack_free/accessory-1",
        "train_02_with_attacks/DoS-1",
    }
    kinds = frames.groupby("capture", observed=True)["attack_kind"].first().to_dict()
    assert kinds == {
        "test_01_known_vehicle_known_attack/DoS-3": "DoS",
        "test_05_suppress/suppress-1": "suppress",
        "test_06_masquerade/masquerade-1": "masquerade",
        "train_01_attack_free/accessory-1": "none",
        "train_02_with_attacks/DoS-1": "DoS",
    }


def test_capture_whose_rows_are_all_rejected(tmp_path: Path) -> None:
    write_capture(tmp_path, "train_02_with_attacks/DoS-1.csv", csv_text("1,1E5,0,0", "x"))
    write_capture(tmp_path, "train_02_with_attacks/rpm-1.csv", csv_text("1,1E5,00,1"))
    frames, rejects, report = ingest(tmp_path)
    dos, rpm = report["captures"]
    assert (dos["rows_in"], dos["rows_valid"], dos["rows_rejected"]) == (2, 0, 2)
    assert dos["attack_share"] == 0.0
    assert (rpm["rows_in"], rpm["rows_valid"], rpm["attack_share"]) == (1, 1, 1.0)
    assert frames["capture"].tolist() == ["train_02_with_attacks/rpm-1"]
    assert len(rejects) == 2
    Frames.validate(frames)


# --- on_invalid ----------------------------------------------------------------------------------


def test_on_invalid_fail_names_file_row_column_reason(tmp_path: Path) -> None:
    path = write_capture(
        tmp_path, "train_02_with_attacks/DoS-1.csv", csv_text("1,1E5,00,0", "", "2,1E5,00,maybe")
    )
    with pytest.raises(IngestionError) as info:
        ingest(tmp_path, on_invalid="fail")
    message = str(info.value)
    assert f"{path}: row 2, column attack: {LABEL} ('maybe')" in message


def test_on_invalid_fail_on_a_wrong_field_count(tmp_path: Path) -> None:
    path = write_capture(tmp_path, "test_05_suppress/suppress-1.csv", csv_text("1,1E5,00"))
    with pytest.raises(IngestionError, match=f"{path}: row 1, column \\*: {FIELD_COUNT}"):
        ingest(tmp_path, on_invalid="fail")


def test_on_invalid_fail_lists_the_first_rejects(tmp_path: Path) -> None:
    write_capture(tmp_path, "test_05_suppress/suppress-1.csv", csv_text(*["1,1E5,0,0"] * 25))
    with pytest.raises(IngestionError) as info:
        ingest(tmp_path, on_invalid="fail")
    message = str(info.value)
    assert message.startswith("25 invalid rows")
    assert "... and 15 more" in message


def test_on_invalid_fail_passes_clean_captures(tmp_path: Path) -> None:
    write_capture(tmp_path, "test_05_suppress/suppress-1.csv", csv_text("1,1E5,00,0", "2,1E5,,1"))
    frames, rejects, report = ingest(tmp_path, on_invalid="fail")
    assert len(frames) == 2
    assert rejects.empty
    assert report["on_invalid"] == "fail"


@pytest.mark.parametrize(
    "params",
    [{"on_invalid": "ignore"}, {"attack_kinds": {}}, {"on_invalid": "fail", "unknown": 1}],
)
def test_bad_parameters_are_refused(tmp_path: Path, params: dict) -> None:
    write_capture(tmp_path, "test_05_suppress/suppress-1.csv", csv_text("1,1E5,00,0"))
    with pytest.raises(pydantic.ValidationError):
        ingest(tmp_path, **params)


# --- duplicates ----------------------------------------------------------------------------------


def test_identical_capture_in_both_train_folders_is_ingested_once(tmp_path: Path) -> None:
    text = csv_text("1,1E5,00,0", "2,1E5,0,0", "3,0C1,01,0")
    write_capture(tmp_path, "train_01_attack_free/accessory-1.csv", text)
    write_capture(tmp_path, "train_02_with_attacks/accessory-1.csv", text)
    write_capture(tmp_path, "train_02_with_attacks/DoS-1.csv", csv_text("1,1E5,00,1"))
    frames, rejects, report = ingest(tmp_path)
    assert report["duplicates_skipped"] == [
        {
            "file": "train_02_with_attacks/accessory-1.csv",
            "same_content_as": "train_01_attack_free/accessory-1.csv",
        }
    ]
    assert [c["capture"] for c in report["captures"]] == [
        "train_01_attack_free/accessory-1",
        "train_02_with_attacks/DoS-1",
    ]
    assert report["totals"]["captures"] == 2
    assert report["totals"]["rows_in"] == 4
    assert frames.groupby("capture", observed=True).size().to_dict() == {
        "train_01_attack_free/accessory-1": 2,
        "train_02_with_attacks/DoS-1": 1,
    }
    assert rejects["capture"].tolist() == ["train_01_attack_free/accessory-1"]


def test_csv_and_csv_gz_of_the_same_content_are_duplicates(tmp_path: Path) -> None:
    text = csv_text("1,1E5,00,0", "2,1E5,01,1")
    write_capture(tmp_path, "train_02_with_attacks/rpm-1.csv.gz", text)
    write_capture(tmp_path, "test_01_known_vehicle_known_attack/rpm-1.csv", text)
    frames, _, report = ingest(tmp_path)
    assert report["duplicates_skipped"] == [
        {
            "file": "train_02_with_attacks/rpm-1.csv.gz",
            "same_content_as": "test_01_known_vehicle_known_attack/rpm-1.csv",
        }
    ]
    assert set(frames["capture"]) == {"test_01_known_vehicle_known_attack/rpm-1"}
    assert len(frames) == 2


def test_captures_differing_in_one_byte_are_not_duplicates(tmp_path: Path) -> None:
    write_capture(tmp_path, "train_01_attack_free/accessory-1.csv", csv_text("1,1E5,00,0"))
    write_capture(tmp_path, "train_02_with_attacks/accessory-1.csv", csv_text("1,1E5,01,0"))
    frames, _, report = ingest(tmp_path)
    assert report["duplicates_skipped"] == []
    assert report["totals"]["captures"] == 2
    assert len(frames) == 2


def test_several_captures_keep_their_own_columns(tmp_path: Path) -> None:
    write_capture(tmp_path, "train_01_attack_free/accessory-2.csv.gz", csv_text("1,1E5,00,0"))
    write_capture(
        tmp_path,
        "test_04_unknown_vehicle_unknown_attack/systematic-4.csv",
        csv_text("2,0C1,00,1", "3,0C1,00,0"),
    )
    write_capture(tmp_path, "test_06_masquerade/masquerade-1.csv", csv_text("4,1E5,,1"))
    frames, _, _ = ingest(tmp_path)
    got = frames[[*CAPTURE_COLUMNS, "row", "timestamp"]].astype({c: str for c in CAPTURE_COLUMNS})
    assert got.to_numpy().tolist() == [
        ["test_04_unknown_vehicle_unknown_attack/systematic-4", "test",
         "test_04_unknown_vehicle_unknown_attack", "systematic", 1, 2.0],
        ["test_04_unknown_vehicle_unknown_attack/systematic-4", "test",
         "test_04_unknown_vehicle_unknown_attack", "systematic", 2, 3.0],
        ["test_06_masquerade/masquerade-1", "test", "test_06_masquerade", "masquerade", 1, 4.0],
        ["train_01_attack_free/accessory-2", "train_attack_free", "train_01_attack_free",
         "none", 1, 1.0],
    ]  # fmt: skip
    for column in CAPTURE_COLUMNS:
        assert frames[column].cat.categories.is_monotonic_increasing


# --- known bugs ----------------------------------------------------------------------------------

NULL_TOKENS = CORPUS / "null_tokens"
READER_MISMATCH = CORPUS / "reader_mismatch"


@pytest.fixture(scope="module")
def null_token_run():
    return ingest(NULL_TOKENS)


def test_null_like_payload_is_rejected_not_an_empty_payload(null_token_run) -> None:
    frames, rejects, _ = null_token_run
    assert frames["row"].tolist() == [1]
    payload_rejects = rejects[rejects["column"] == "data_field"]
    assert payload_rejects["value"].tolist() == ["NA", "null", "N/A"]
    assert set(payload_rejects["reason"]) == {HEX_PAYLOAD}


def test_nan_timestamp_is_rejected_as_non_finite(null_token_run) -> None:
    _, rejects, _ = null_token_run
    nan_rows = rejects[rejects["row"].isin([2, 3])].sort_values("row")
    assert nan_rows[["column", "reason", "value"]].to_numpy().tolist() == [
        ["timestamp", TIME, "nan"],
        ["timestamp", TIME, "NaN"],
    ]


def test_reject_keeps_null_like_value_and_whole_line(null_token_run) -> None:
    _, rejects, _ = null_token_run
    lines = data_lines((NULL_TOKENS / "train_02_with_attacks" / "DoS-1.csv").read_text())
    for row, value in [(4, "NA"), (8, "NA")]:
        got = rejects[rejects["row"] == row]
        assert got["value"].tolist() == [value]
        assert got["line"].tolist() == [lines[row - 1]]


def test_stray_quote_is_quarantined(tmp_path: Path) -> None:
    frames, rejects, report = ingest_one(
        tmp_path, (READER_MISMATCH / "stray_quote.csv").read_text()
    )[:3]
    assert report["captures"][0]["rows_in"] == 4
    assert frames["row"].tolist() == [1, 3, 4]
    assert rejects["row"].tolist() == [2]


def test_lone_carriage_return_ends_a_line_like_the_csv_reader(tmp_path: Path) -> None:
    # "1.000001,1E5,0\r0,0": a lone CR ends a line (as in the CSV reader and universal
    # newlines), so row 2 has 3 fields and row 3 has 2; both are quarantined, nothing is lost
    frames, rejects, report = ingest_one(
        tmp_path, (READER_MISMATCH / "lone_cr.csv").read_bytes().decode()
    )[:3]
    assert report["captures"][0]["rows_in"] == 4
    assert frames["row"].tolist() == [1, 4]
    assert rejects["row"].tolist() == [2, 3]
    assert set(rejects["reason"]) == {"wrong number of fields"}


def test_capture_ids_are_unique(tmp_path: Path) -> None:
    write_capture(tmp_path, "train_02_with_attacks/rpm-1.csv", csv_text("1,1E5,00,0"))
    write_capture(tmp_path, "train_02_with_attacks/rpm-1.csv.gz", csv_text("2,1E5,00,1"))
    try:
        frames, _, report = ingest(tmp_path)
    except ValueError:  # refusing the ambiguous pair is fine too
        return
    ids = [c["capture"] for c in report["captures"]]
    assert len(ids) == len(set(ids))
    assert not frames.duplicated(["capture", "row"]).any()


def test_frames_sorted_by_capture_and_row(tmp_path: Path) -> None:
    write_capture(tmp_path, "train_02_with_attacks/DoS.csv", csv_text("1,1E5,00,0", "2,1E5,00,1"))
    write_capture(tmp_path, "train_02_with_attacks/DoS-1.csv", csv_text("3,1E5,00,0"))
    frames, _, _ = ingest(tmp_path)
    keys = list(zip(frames["capture"].astype(str), frames["row"], strict=True))
    assert keys == sorted(keys)


def test_frames_sorted_within_each_capture(corpus_run) -> None:
    frames, _, _ = corpus_run
    codes = frames["capture"].cat.codes.to_numpy()
    assert (np.diff(codes) >= 0).all()
    for _, part in frames.groupby("capture", observed=True):
        assert part["row"].is_monotonic_increasing
        assert part["row"].is_unique
