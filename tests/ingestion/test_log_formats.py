"""Log formats besides the dataset's CSV: candump, Vector ASC and BLF, python-can CSV.

Each is read into the same raw columns as the CSV and judged by the same validation: frames come
out identical to the frames they were written from, and malformed lines land in the rejects with
their row, column and reason.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import can
import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.ingestion.captures import CaptureError, describe, describe_unlabelled, strip_suffix
from kd_gat.ingestion.logs import write_asc, write_candump
from kd_gat.ingestion.read import read_capture
from kd_gat.ingestion.schemas import REASONS, Frames, RejectedFrames
from kd_gat.ingestion.validate import validate_captures
from kd_gat.pipelines.ingestion.nodes import ingest_captures
from tests.conftest import SAMPLE
from tests.ingestion.helpers import BYTE_COLUMNS, FIELD_COUNT, load_params, write_capture

PARAMS = load_params()
SAMPLE_CAPTURE = "test_01_known_vehicle_known_attack/DoS-3.csv.gz"
FRAME = ["timestamp", "can_id", "dlc", *BYTE_COLUMNS]
ID_REASON, DATA_REASON = REASONS["hex_can_id"], REASONS["hex_payload"]
TIME_REASON, MISSING = REASONS["finite_timestamp"], REASONS["not_nullable"]


@pytest.fixture(scope="module")
def sample_frames() -> pd.DataFrame:
    """The shipped real capture, read and validated by the CSV ingestion."""
    path = SAMPLE / "set_01" / SAMPLE_CAPTURE
    frames, rejects, _ = ingest_captures([read_capture(path, SAMPLE_CAPTURE)], PARAMS)
    assert len(rejects) == 0
    return frames


def ingest_log(path: Path, relpath: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """One log file through the unlabelled ingestion (what the inference pipeline's
    `ingest_new_captures` does, without importing the models)."""
    capture = read_capture(path, relpath or path.name, labelled=False)
    described = [(describe_unlabelled(capture.relpath), capture)]
    frames, rejects, report = validate_captures(described, "quarantine", {})
    RejectedFrames.validate(rejects)
    return frames, rejects, report


def micros(seconds) -> np.ndarray:
    return np.round(np.asarray(seconds, np.float64) * 1e6).astype(np.int64)


def assert_same_frames(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert len(got) == len(want)
    np.testing.assert_array_equal(micros(got["timestamp"]), micros(want["timestamp"]))
    for column in FRAME[1:]:
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy(), column)
    assert (got["attack"] == 0).all()


def rejects_of(rejects: pd.DataFrame) -> list[tuple]:
    table = rejects.sort_values("row")[["row", "column", "reason", "value", "line"]]
    return list(table.itertuples(index=False, name=None))


# --- candump -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["DoS-3.log", "DoS-3.log.gz"])
def test_candump_round_trip_of_a_real_capture(tmp_path, sample_frames, name) -> None:
    path = write_candump(sample_frames, tmp_path / name)
    frames, rejects, report = ingest_log(path)
    assert len(rejects) == 0
    assert report["totals"]["rows_in"] == len(sample_frames)
    assert_same_frames(frames, sample_frames)
    Frames.validate(frames)
    # exactly candump's notation, built here from the CSV text with the standard library
    with gzip.open(SAMPLE / "set_01" / SAMPLE_CAPTURE, "rt") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: float(r["timestamp"]))
    expected = "".join(
        f"({r['timestamp']}) can0 {int(r['arbitration_id'], 16):03X}#{r['data_field'].upper()}\n"
        for r in rows
    )
    written = path.read_bytes()
    assert (gzip.decompress(written) if name.endswith(".gz") else written).decode() == expected


def test_candump_bad_lines_are_rejected_with_row_and_reason(tmp_path, sample_frames) -> None:
    good = sample_frames.iloc[:40].reset_index(drop=True)
    lines = write_candump(good, tmp_path / "good.log").read_text().splitlines()
    corrupt = {  # data row → (line, column, reason, value)
        3: ("(1672531200.100000) can0 1G5#0102", "arbitration_id", ID_REASON, "1G5"),
        6: ("(1672531200.100001) can0 1E5#01G2", "data_field", DATA_REASON, "01G2"),
        9: ("(1672531200.100002) can0 1E50102", "*", FIELD_COUNT, None),  # no '#'
        12: ("(1672531200.1000", "*", FIELD_COUNT, None),  # cut short
        15: ("(1672531200.100003) can0 1E5#010", "data_field", DATA_REASON, "010"),
        18: ("(1672531200.100004) can0 123#R", "data_field", DATA_REASON, "R"),  # remote
        21: ("(1672531200.100005) can0 123##1AABB", "data_field", DATA_REASON, "#1AABB"),  # FD
        24: ("(1672531200.100006) can0 20000080#00", "arbitration_id", ID_REASON, "20000080"),
        27: ("(abc) can0 123#00", "timestamp", TIME_REASON, "abc"),
        30: ("() can0 123#00", "timestamp", MISSING, ""),
        33: ("(1672531200.100007) can0 123#00 extra", "*", FIELD_COUNT, None),
        36: ("1672531200.100008 can0 123#00", "*", FIELD_COUNT, None),  # no parentheses
    }
    text_lines = list(lines)
    for row in sorted(corrupt):
        text_lines.insert(row - 1, corrupt[row][0])
    text = "\n".join(text_lines[:20]) + "\n\n" + "\r\n".join(text_lines[20:]) + "\r\n"
    path = tmp_path / "corrupt.log"
    path.write_bytes(text.encode())

    frames, rejects, report = ingest_log(path)
    assert rejects_of(rejects) == [
        (row, column, reason, line if value is None else value, line)
        for row, (line, column, reason, value) in sorted(corrupt.items())
    ]
    assert_same_frames(frames, good)
    # every good line kept its own data row number, blank lines not counted
    expected_rows = [r for r in range(1, len(text_lines) + 1) if r not in corrupt]
    assert frames["row"].tolist() == expected_rows
    totals = report["totals"]
    assert totals["rows_in"] == len(text_lines) == totals["rows_valid"] + totals["rows_rejected"]


def test_candump_variants_that_are_valid(tmp_path, caplog) -> None:
    text = (
        "(1436509052.249713) vcan0 044#2A366C2BBA\n"
        "(1436509052.249714)  can10 1FFFFFFF#\n"  # interface padded as candump aligns it
        "(1436509052.249715) vcan0 7ff#0102 R\n"  # candump -x: direction
        "(1436509052.249716) vcan0 000#0102030405060708 T\n"
    )
    frames, rejects, _ = ingest_log(write_capture(tmp_path, "a.log", text))
    assert len(rejects) == 0
    assert frames["can_id"].tolist() == [0x044, 0x1FFFFFFF, 0x7FF, 0]
    assert frames["dlc"].tolist() == [5, 0, 2, 8]
    assert frames["byte_4"].tolist() == [0xBA, 0, 0, 5]
    assert "frames of 2 interfaces form one capture" in caplog.text


def test_candump_line_that_is_not_utf8_is_a_bad_line(tmp_path) -> None:
    text = b"(1.000000) can0 123#00\n(1.000001) can0 123#\xff0\n(1.000002) can0 124#01\n"
    frames, rejects, _ = ingest_log(write_capture(tmp_path, "a.log", text))
    assert frames["can_id"].tolist() == [0x123, 0x124]
    assert rejects_of(rejects) == [
        (2, "*", FIELD_COUNT, "(1.000001) can0 123#\ufffd0", "(1.000001) can0 123#\ufffd0")
    ]


def test_empty_candump_log_is_a_whole_file_error(tmp_path) -> None:
    path = write_capture(tmp_path, "a.log", "\n\n")
    with pytest.raises(CaptureError, match=re.escape(f"{path}: empty file")):
        read_capture(path, "a.log", labelled=False)


# --- python-can formats --------------------------------------------------------------------------


def as_messages(frames: pd.DataFrame) -> list[can.Message]:
    payload = frames[BYTE_COLUMNS].to_numpy(np.uint8)
    return [
        can.Message(
            timestamp=float(ts),
            arbitration_id=int(can_id),
            is_extended_id=bool(can_id > 0x7FF),
            dlc=int(dlc),
            data=bytes(payload[i, :dlc]),
        )
        for i, (ts, can_id, dlc) in enumerate(
            zip(frames["timestamp"], frames["can_id"].tolist(), frames["dlc"].tolist(), strict=True)
        )
    ]


@pytest.fixture(scope="module")
def few_frames(sample_frames) -> pd.DataFrame:
    """A few hundred real frames, some given 29-bit ids."""
    frames = sample_frames.iloc[:300].reset_index(drop=True).copy()
    frames.loc[::7, "can_id"] = frames.loc[::7, "can_id"] * (1 << 18) + 0x1234
    return frames


def unsupported(after: float) -> list[tuple[can.Message, str, str]]:
    """Frames the frames table cannot hold, 1 ms apart after `after`: (message, column, value)."""
    return [
        (
            can.Message(timestamp=after + 0.001, arbitration_id=0x123, is_remote_frame=True, dlc=3),
            "data_field",
            "R3",
        ),
        (can.Message(timestamp=after + 0.002, is_error_frame=True), "arbitration_id", "20000000"),
    ]


@pytest.mark.parametrize(
    ("name", "writer"),
    [("bench.asc", can.ASCWriter), ("bench.blf", can.BLFWriter), ("bench.csv", can.CSVWriter)],
)
def test_python_can_log_round_trip(tmp_path, few_frames, name, writer) -> None:
    path = tmp_path / name
    extra = unsupported(float(few_frames["timestamp"].iloc[-1]))
    with writer(str(path)) as w:
        for msg in [*as_messages(few_frames), *(m for m, _, _ in extra)]:
            w.on_message_received(msg)

    frames, rejects, report = ingest_log(path)
    want = few_frames.copy()
    if name.endswith(".asc"):  # ASC times are from the start of the measurement
        want["timestamp"] -= few_frames["timestamp"].iloc[0]
    assert_same_frames(frames, want)
    n = len(few_frames)
    assert [(r, c, v) for r, c, _, v, _ in rejects_of(rejects)] == [
        (n + 1 + i, column, value) for i, (_, column, value) in enumerate(extra)
    ]
    assert report["totals"]["rows_in"] == n + len(extra)


def test_write_asc_round_trip(tmp_path, few_frames) -> None:
    frames, rejects, _ = ingest_log(write_asc(few_frames, tmp_path / "a.asc"))
    want = few_frames.assign(timestamp=few_frames["timestamp"] - few_frames["timestamp"].iloc[0])
    assert len(rejects) == 0
    assert_same_frames(frames, want)


def test_python_can_csv_rows_are_judged_and_quoted(tmp_path) -> None:
    header = "timestamp,arbitration_id,extended,remote,error,dlc,data"
    lines = [
        "1.5,0x1e5,0,0,0,2,AQI=",  # 01 02
        "1.6,0x1abcdef,1,0,0,0,",  # extended id, DLC 0
        "1.7,0x123,0,0,0,2,!!!!",  # not base64
        "1.8,0x123,0,0,0,3,AQI=",  # DLC disagrees with the payload
        "1.9,0x123,0,0,0",  # a field short
        "2.0,0x2G3,0,0,0,1,AQ==",
        "2.1,7ff,0,0,0,1,/w==",  # python-can reads the id as hex with or without 0x
    ]
    path = write_capture(tmp_path, "car/drive.csv", "\n".join([header, *lines]) + "\n")
    frames, rejects, _ = ingest_log(path, "car/drive.csv")
    assert frames["capture"].unique().tolist() == ["car/drive"]
    assert frames[["row", "can_id", "dlc", "byte_0", "byte_1"]].values.tolist() == [
        [1, 0x1E5, 2, 1, 2],
        [2, 0x1ABCDEF, 0, 0, 0],
        [7, 0x7FF, 1, 0xFF, 0],
    ]
    assert rejects_of(rejects) == [
        (3, "data_field", DATA_REASON, "base64:!!!!", lines[2]),
        (4, "data_field", DATA_REASON, "0102_3", lines[3]),
        (5, "*", FIELD_COUNT, lines[4], lines[4]),
        (6, "arbitration_id", ID_REASON, "2G3", lines[5]),
    ]


def test_unreadable_blf_is_a_whole_file_error(tmp_path) -> None:
    path = write_capture(tmp_path, "a.blf", b"not a BLF file at all")
    with pytest.raises(CaptureError, match=re.escape(f"{path}: unreadable BLF log")):
        read_capture(path, "a.blf", labelled=False)


# --- discovery -----------------------------------------------------------------------------------


def test_strip_suffix_and_capture_ids_of_log_files() -> None:
    for name in ["drive.log", "drive.log.gz", "drive.asc", "drive.blf", "drive.csv.gz"]:
        assert strip_suffix(name) == "drive"
    assert strip_suffix("drive.log.bak") == "drive.log.bak"
    assert describe("train_01_attack_free/idle-1.log.gz", PARAMS["attack_kinds"]).capture == (
        "train_01_attack_free/idle-1"
    )
    assert describe_unlabelled("car_a/day_1/drive.blf").capture == "car_a/day_1/drive"


def write_each_format(root: Path, stem: str, frames: pd.DataFrame) -> list[str]:
    """The same frames as .log, .log.gz, .asc and .blf under `root`; their relative paths."""
    root.mkdir(parents=True, exist_ok=True)
    write_candump(frames, root / f"{stem}-1.log")
    write_candump(frames, root / f"{stem}-2.log.gz")
    write_asc(frames, root / f"{stem}-3.asc")
    with can.BLFWriter(str(root / f"{stem}-4.blf")) as w:
        for msg in as_messages(frames):
            w.on_message_received(msg)
    return [f"{stem}-{i}{s}" for i, s in enumerate([".log", ".log.gz", ".asc", ".blf"], 1)]


def test_folder_dataset_finds_log_files(tmp_path, few_frames) -> None:
    names = write_each_format(tmp_path / "train_01_attack_free", "idle", few_frames)
    (tmp_path / "train_01_attack_free" / "idle-5.log.bak").write_text("not a capture")
    (tmp_path / "train_01_attack_free" / "deeper").mkdir()
    write_candump(few_frames, tmp_path / "train_01_attack_free" / "deeper" / "x.log")
    captures = CaptureFolderDataset(str(tmp_path)).load()
    assert [c.relpath for c in captures] == [f"train_01_attack_free/{n}" for n in names]
    frames, rejects, report = ingest_captures(captures, PARAMS)
    assert len(rejects) == 0
    # .log and .log.gz hold the same text: read once
    assert report["duplicates_skipped"] == [
        {
            "file": f"train_01_attack_free/{names[1]}",
            "same_content_as": f"train_01_attack_free/{names[0]}",
        }
    ]
    assert frames.groupby("capture", observed=True).size().tolist() == [len(few_frames)] * 3


def test_unlabelled_folder_finds_log_files_at_any_depth(tmp_path, few_frames) -> None:
    names = write_each_format(tmp_path / "car_a" / "day_1", "drive", few_frames)
    write_candump(few_frames.iloc[:5], tmp_path / "loose.log")
    captures = CaptureFolderDataset(str(tmp_path), labelled=False).load()
    assert [c.relpath for c in captures] == [*(f"car_a/day_1/{n}" for n in names), "loose.log"]


def test_labelled_dataset_takes_logs_only_as_attack_free_traffic(tmp_path, few_frames) -> None:
    write_candump(few_frames, tmp_path / "train_02_with_attacks" / "DoS-1.log")
    with pytest.raises(DatasetError, match=r"DoS-1.log: a candump log carries no attack labels"):
        CaptureFolderDataset(str(tmp_path)).load()


def test_no_captures_message_names_the_formats(tmp_path) -> None:
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(DatasetError, match=r"no captures found .*\.log\[\.gz\], \.asc or \.blf"):
        CaptureFolderDataset(str(tmp_path), labelled=False).load()


def test_candump_reads_like_the_csv_it_came_from(tmp_path, sample_frames) -> None:
    """The raw text columns of a candump log equal those of the CSV, row for row."""
    path = write_candump(sample_frames.iloc[:100], tmp_path / "a.log")
    log_table = read_capture(path, "a.log", labelled=False).table.to_pandas()
    with gzip.open(SAMPLE / "set_01" / SAMPLE_CAPTURE, "rt") as f:
        csv_table = pd.read_csv(io.StringIO(f.read()), dtype=str, nrows=100)
    assert log_table["timestamp"].tolist() == csv_table["timestamp"].tolist()
    assert [int(x, 16) for x in log_table["arbitration_id"]] == [
        int(x, 16) for x in csv_table["arbitration_id"]
    ]
    assert (
        log_table["data_field"].tolist() == csv_table["data_field"].fillna("").str.upper().tolist()
    )
    assert set(log_table["attack"]) == {"0"}
