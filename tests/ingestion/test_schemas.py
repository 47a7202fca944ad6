"""The Pandera contracts: typed `Frames`, `RejectedFrames`, and the raw-row `RawFrames`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.errors
import pytest

from kd_gat.ingestion.schemas import REASONS, Frames, RawFrames, RejectedFrames
from kd_gat.ingestion.validate import reject_table
from tests.ingestion.helpers import BYTE_COLUMNS

INVALID = (pandera.errors.SchemaError, pandera.errors.SchemaErrors)


def frames(**overrides) -> pd.DataFrame:
    """Three valid typed frames, built by hand; `overrides` replace whole columns."""
    payloads = [bytes([1, 2, 3, 4, 5, 6, 7, 8]), b"", bytes([0xAB, 0xCD])]
    padded = np.array([list(p.ljust(8, b"\0")) for p in payloads], np.uint8)
    table = pd.DataFrame(
        {
            "capture": pd.Categorical(["test_05_suppress/suppress-1"] * 3),
            "split": pd.Categorical(["test"] * 3),
            "scenario": pd.Categorical(["test_05_suppress"] * 3),
            "attack_kind": pd.Categorical(["suppress"] * 3),
            "row": np.array([1, 2, 4], np.int64),
            "timestamp": np.array([0.0, 1.5, 1672531200.25], np.float64),
            "can_id": np.array([0x1E5, 0, (1 << 29) - 1], np.int32),
            "dlc": np.array([len(p) for p in payloads], np.uint8),
            **{name: padded[:, i] for i, name in enumerate(BYTE_COLUMNS)},
            "attack": np.array([0, 1, 0], np.int8),
        }
    )
    for column, values in overrides.items():
        table[column] = values
    return table


def test_valid_frames_pass() -> None:
    Frames.validate(frames())


def test_frames_split_may_be_any_known_split() -> None:
    splits = pd.Categorical(["train_attack_free", "train_with_attacks", "test"])
    Frames.validate(frames(split=splits))


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("byte_2", np.array([0, 0, 9], np.uint8)),  # third frame has dlc 2: byte 2 is padding
        ("byte_0", np.array([0, 1, 0], np.uint8)),  # second frame has dlc 0
        ("dlc", np.array([8, 0, 1], np.uint8)),  # dlc 1 but byte_1 is 0xCD
    ],
)
def test_frames_refuse_non_zero_bytes_past_the_dlc(column: str, values: np.ndarray) -> None:
    with pytest.raises(INVALID, match="bytes_past_dlc_are_zero"):
        Frames.validate(frames(**{column: values}))


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("can_id", np.array([0x1E5, 0, 1], np.int64)),
        ("byte_3", np.array([4, 0, 0], np.int16)),
        ("dlc", np.array([8, 0, 2], np.int64)),
        ("row", np.array([1, 2, 4], np.int32)),
        ("timestamp", np.array([0.0, 1.5, 2.0], np.float32)),
        ("attack", np.array([0, 1, 0], np.int64)),
        ("capture", np.array(["a", "a", "a"], object)),
        ("split", pd.array(["test"] * 3, "str")),
    ],
)
def test_frames_refuse_a_bad_dtype(column: str, values) -> None:
    with pytest.raises(INVALID, match=column):
        Frames.validate(frames(**{column: values}))


@pytest.mark.parametrize("split", ["train", "validation", "test_01_known_vehicle_known_attack"])
def test_frames_refuse_an_unknown_split(split: str) -> None:
    with pytest.raises(INVALID, match="split"):
        Frames.validate(frames(split=pd.Categorical(["test", split, "test"])))


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("row", np.array([0, 1, 2], np.int64)),
        ("timestamp", np.array([0.0, -1.0, 2.0])),
        ("timestamp", np.array([0.0, np.inf, 2.0])),
        ("timestamp", np.array([0.0, np.nan, 2.0])),
        ("can_id", np.array([0, 1 << 29, 2], np.int32)),
        ("can_id", np.array([0, -1, 2], np.int32)),
        ("dlc", np.array([8, 9, 2], np.uint8)),
        ("attack", np.array([0, 2, 0], np.int8)),
    ],
)
def test_frames_refuse_out_of_range_values(column: str, values: np.ndarray) -> None:
    with pytest.raises(INVALID):
        Frames.validate(frames(**{column: values}))


def test_frames_are_strict_and_ordered() -> None:
    with pytest.raises(INVALID):
        Frames.validate(frames().assign(extra=1))
    table = frames()
    with pytest.raises(INVALID):
        Frames.validate(table[[*table.columns[1:], table.columns[0]]])
    with pytest.raises(INVALID):
        Frames.validate(table.drop(columns="byte_7"))


def test_reject_table_layout_passes_rejected_frames() -> None:
    table = reject_table(
        "test_05_suppress/suppress-1",
        "/raw/set_01/test_05_suppress/suppress-1.csv",
        rows=np.array([3, 1]),
        columns=["data_field", "*"],
        reasons=[REASONS["hex_payload"], "wrong number of fields"],
        values=["0", "1,2"],
        lines=["1.0,1E5,0,0", "1,2"],
    )
    RejectedFrames.validate(table)
    assert table["row"].dtype == np.int64
    assert table.to_dict("records")[0] == {
        "capture": "test_05_suppress/suppress-1",
        "file": "/raw/set_01/test_05_suppress/suppress-1.csv",
        "row": 3,
        "column": "data_field",
        "reason": REASONS["hex_payload"],
        "value": "0",
        "line": "1.0,1E5,0,0",
    }


def test_empty_reject_table_passes_rejected_frames() -> None:
    table = reject_table(
        "c", "f", rows=np.zeros(0, np.int64), columns=[], reasons=[], values=[], lines=[]
    )
    assert list(table.columns) == ["capture", "file", "row", "column", "reason", "value", "line"]
    assert table.empty
    RejectedFrames.validate(table)


def test_rejected_frames_refuse_row_zero() -> None:
    table = reject_table(
        "c", "f", rows=np.array([0]), columns=["*"], reasons=["r"], values=["v"], lines=["l"]
    )
    with pytest.raises(INVALID):
        RejectedFrames.validate(table)


def test_every_raw_check_has_a_reason() -> None:
    """A failing RawFrames check without a REASONS entry would write a reject with no reason."""
    schema = RawFrames.to_schema()
    checks = {check.name for column in schema.columns.values() for check in column.checks}
    assert checks <= set(REASONS)
    assert "not_nullable" in REASONS
    assert [name for name, column in schema.columns.items() if column.nullable] == ["data_field"]
