"""Pandera contracts for CAN frames: the raw CSV text and the typed frames table.

`RawFrames` states what a valid CSV row is; its checks are the vectorised validators of
`kd_gat.ingestion.frames`, so every row of every capture is checked without a Python loop per
row, and the failure cases of a lazy validation become the rejects (file, row, column, reason).
`Frames` is the typed table written to 02_intermediate; the catalog validates it on save and load.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from kd_gat.ingestion import frames as fr
from kd_gat.ingestion.frames import BYTE_COLUMNS, CAN_ID_BITS, MAX_CAN_ID, PAYLOAD_BYTES

# Pandera check name -> reason text written to `rejected_frames`.
REASONS = {
    "not_nullable": "missing value",
    "hex_can_id": "arbitration_id is not hex or exceeds 29 bits",
    "hex_payload": "data_field is not hex, has odd length or exceeds 8 bytes",
    "binary_label": "attack label is not 0 or 1",
    "finite_timestamp": "timestamp is not a finite non-negative number",
}


class RawFrames(pa.DataFrameModel):
    """One CSV row as text. Only `data_field` may be empty (a DLC-0 frame)."""

    timestamp: Series[str] = pa.Field(finite_timestamp=())
    arbitration_id: Series[str] = pa.Field(hex_can_id=CAN_ID_BITS)
    data_field: Series[str] = pa.Field(nullable=True, hex_payload=PAYLOAD_BYTES)
    attack: Series[str] = pa.Field(binary_label=())

    class Config:
        strict = True
        ordered = True


class Frames(pa.DataFrameModel):
    """Typed, validated frames: one table, one row per CSV row kept, sorted by capture, then by
    time (file order where timestamps are equal; see `validate.in_time_order`)."""

    capture: Series[pd.CategoricalDtype]
    split: Series[pd.CategoricalDtype] = pa.Field(
        isin=["train_attack_free", "train_with_attacks", "test"]
    )
    scenario: Series[pd.CategoricalDtype]
    attack_kind: Series[pd.CategoricalDtype]
    row: Series[np.int64] = pa.Field(ge=1)
    timestamp: Series[np.float64] = pa.Field(ge=0, finite_float=())
    can_id: Series[np.int32] = pa.Field(ge=0, le=MAX_CAN_ID)
    dlc: Series[np.uint8] = pa.Field(ge=0, le=PAYLOAD_BYTES)
    byte_0: Series[np.uint8]
    byte_1: Series[np.uint8]
    byte_2: Series[np.uint8]
    byte_3: Series[np.uint8]
    byte_4: Series[np.uint8]
    byte_5: Series[np.uint8]
    byte_6: Series[np.uint8]
    byte_7: Series[np.uint8]
    attack: Series[np.int8] = pa.Field(isin=[0, 1])

    @pa.dataframe_check
    def bytes_past_dlc_are_zero(cls, df: pd.DataFrame) -> Series[bool]:
        """Bytes beyond the DLC are padding and must be 0."""
        ok = fr.padding_is_zero(df[BYTE_COLUMNS].to_numpy(), df["dlc"].to_numpy())
        return pd.Series(ok, index=df.index)

    class Config:
        strict = True
        ordered = True


class RejectedFrames(pa.DataFrameModel):
    """Quarantined rows: where from, why, the bad value and the whole line: nothing is lost."""

    capture: Series[str]
    file: Series[str]
    row: Series[np.int64] = pa.Field(ge=1)
    column: Series[str]
    reason: Series[str]
    value: Series[str] = pa.Field(nullable=True)
    line: Series[str]

    class Config:
        strict = True
