"""CAN frames: vectorised decoding and validation of the raw CSV text columns.

Everything here works on whole Arrow string columns through their offset and data buffers with
numpy, never a Python loop per row. The validators are registered as Pandera checks so the
`RawFrames` contract (kd_gat.ingestion.schemas) runs them on every row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.extensions as pa_ext
import pyarrow as pa
import pyarrow.compute as pc

PAYLOAD_BYTES = 8
BYTE_COLUMNS = [f"byte_{i}" for i in range(PAYLOAD_BYTES)]
RAW_COLUMNS = ["timestamp", "arbitration_id", "data_field", "attack"]
CAPTURE_COLUMNS = ["capture", "split", "scenario", "attack_kind"]
FRAME_COLUMNS = [*CAPTURE_COLUMNS, "row", "timestamp", "can_id", "dlc", *BYTE_COLUMNS, "attack"]
CAN_ID_BITS = 29
MAX_CAN_ID = (1 << CAN_ID_BITS) - 1
_MAX_ID_CHARS = 16  # 29 bits need 8 hex digits; leading zeros may pad up to 16

_NOT_HEX = np.uint8(255)
_HEX_LUT = np.full(256, _NOT_HEX, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_LUT[_c] = _i
    _HEX_LUT[ord(chr(_c).upper())] = _i


def _arrow_strings(values: pa.Array | pa.ChunkedArray | pd.Series) -> pa.Array:
    """One contiguous Arrow string array, nulls replaced by empty strings."""
    if isinstance(values, pd.Series):
        values = pa.array(values.array) if values.dtype != object else pa.array(values)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    return pc.fill_null(values, "")


def hex_nibbles(
    values: pa.Array | pa.ChunkedArray | pd.Series, width: int, *, align: str = "left"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode hex text to a (n, width) nibble matrix, padded with '0' to the left or right.

    Arrow pads every value to `width` characters, so the data buffer reshapes to (n, width)
    with no gather. Returns (nibbles, lengths, ok): `ok` is False where the text is longer than
    `width` or holds a non-hex character; rejected rows decode as 0.
    """
    arr = _arrow_strings(values)
    lengths = pc.binary_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    # Non-ASCII text is never hex; blanking it keeps one byte per character after padding.
    fits = (lengths <= width) & pc.string_is_ascii(arr).to_numpy(zero_copy_only=False)
    pad = pc.utf8_rpad if align == "left" else pc.utf8_lpad
    fitting = arr if fits.all() else pc.if_else(pa.array(fits), arr, "")
    padded = pad(fitting, width=width, padding="0")
    n = len(padded)
    if n == 0:
        return np.zeros((0, width), np.uint8), lengths, fits
    offset_type = np.int64 if pa.types.is_large_string(padded.type) else np.int32
    start = int(np.frombuffer(padded.buffers()[1], offset_type)[padded.offset])
    data = np.frombuffer(padded.buffers()[2], np.uint8, count=n * width, offset=start)
    nibbles = _HEX_LUT[data].reshape(n, width)
    # A valid nibble is < 16, a non-hex character maps to 255: test the high bit 8 bytes at once.
    words = nibbles.view(np.uint64) if width % 8 == 0 else nibbles
    high = np.uint64(0x8080808080808080) if width % 8 == 0 else np.uint8(0x80)
    ok = fits & ~np.bitwise_or.reduce(words & high, axis=1).astype(bool)
    nibbles[~ok] = 0
    return nibbles, lengths, ok


def decode_can_id(values) -> tuple[np.ndarray, np.ndarray]:
    """Hex CAN ID → (int64 ids, ok). Not ok: empty, non-hex, or more than 29 bits."""
    nibbles, lengths, ok = hex_nibbles(values, _MAX_ID_CHARS, align="right")
    # 16 right-aligned nibbles = 8 big-endian bytes = one uint64 per row
    packed = np.ascontiguousarray((nibbles[:, 0::2] << 4) | nibbles[:, 1::2])
    ids = packed.view(">u8").ravel()
    ok &= ids <= MAX_CAN_ID
    ids = np.where(ok, ids, 0).astype(np.int64)
    ok &= lengths > 0
    return np.where(ok, ids, 0), ok


def decode_payload(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hex payload → ((n, 8) uint8 bytes zero-padded past the DLC, uint8 dlc, ok).

    Empty text is a valid DLC-0 frame; odd length, non-hex or more than 8 bytes is not ok.
    """
    nibbles, lengths, ok = hex_nibbles(values, 2 * PAYLOAD_BYTES)
    ok &= lengths % 2 == 0
    payload = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    payload[~ok] = 0
    dlc = np.where(ok, lengths // 2, 0).astype(np.uint8)
    return payload, dlc, ok


def decode_timestamp(values) -> tuple[np.ndarray, np.ndarray]:
    """Text → (float64 seconds, ok). Not ok: not a number, non-finite, or negative."""
    arr = _arrow_strings(values)
    try:
        seconds = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Slow path only when some text is not a number: those rows become NaN.
        seconds = pd.to_numeric(pd.Series(arr.to_numpy(zero_copy_only=False)), errors="coerce")
        seconds = seconds.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(seconds) & (seconds >= 0)
    return np.where(ok, seconds, 0.0), ok


def decode_label(values) -> tuple[np.ndarray, np.ndarray]:
    """Text '0'/'1' → (int8 label, ok)."""
    arr = _arrow_strings(values)
    one = pc.equal(arr, "1").to_numpy(zero_copy_only=False)
    zero = pc.equal(arr, "0").to_numpy(zero_copy_only=False)
    return one.astype(np.int8), one | zero


def padding_is_zero(payload: np.ndarray, dlc: np.ndarray) -> np.ndarray:
    """Per row: every byte at or past the DLC is 0."""
    past_dlc = np.arange(payload.shape[1]) >= np.asarray(dlc)[:, None]
    return ~((np.asarray(payload) != 0) & past_dlc).any(axis=1)


# Pandera checks over the raw text columns: each returns a per-row boolean mask.
# Missing values are reported by Pandera's own `not_nullable` check before these run.
@pa_ext.register_check_method(statistics=["max_bits"], check_type="vectorized")
def hex_can_id(series: pd.Series, *, max_bits: int) -> pd.Series:
    """arbitration_id is hex and fits in `max_bits` bits."""
    ids, ok = decode_can_id(series)
    return pd.Series(ok & (ids < (1 << max_bits)), index=series.index)


@pa_ext.register_check_method(statistics=["max_bytes"], check_type="vectorized")
def hex_payload(series: pd.Series, *, max_bytes: int) -> pd.Series:
    """data_field is even-length hex of at most `max_bytes` bytes (empty = DLC 0)."""
    _, dlc, ok = decode_payload(series)
    return pd.Series(ok & (dlc <= max_bytes), index=series.index)


@pa_ext.register_check_method(check_type="vectorized")
def binary_label(series: pd.Series) -> pd.Series:
    """attack is exactly '0' or '1'."""
    return pd.Series(decode_label(series)[1], index=series.index)


@pa_ext.register_check_method(check_type="vectorized")
def finite_timestamp(series: pd.Series) -> pd.Series:
    """timestamp parses as a finite, non-negative number."""
    return pd.Series(decode_timestamp(series)[1], index=series.index)


@pa_ext.register_check_method(check_type="vectorized")
def finite_float(series: pd.Series) -> pd.Series:
    """A float column holds no NaN or infinity."""
    return pd.Series(np.isfinite(series.to_numpy()), index=series.index)
