"""The vectorised decoders of kd_gat.ingestion.frames, checked value by value against the
standard library."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from kd_gat.ingestion import frames as fr

GOOD_IDS = ["1E5", "1e5", "000", "0", "7FF", "0C1", "1FFFFFFF", "1fffffff", "00000001", "aBcDeF"]
BAD_IDS = ["20000000", "FFFFFFFF", "123456789", "1G5", "0x1E5", " 1E5", "1E5 ", "-1", "1_0", "é1"]
GOOD_PAYLOADS = ["", "00", "0102030405060708", "ff", "FFFFFFFFFFFFFFFF", "a0B1c2", "00020040"]
BAD_PAYLOADS = ["0", "0102030", "GG", "0x01", "01 02", "010203040506070809", "0" * 18, "é0"]


@pytest.mark.parametrize("container", [pa.array, pa.chunked_array, pd.Series])
def test_decode_can_id_matches_int_base_16(container) -> None:
    values = GOOD_IDS + BAD_IDS
    data = container([values]) if container is pa.chunked_array else container(values)
    ids, ok = fr.decode_can_id(data)
    assert ok.tolist() == [True] * len(GOOD_IDS) + [False] * len(BAD_IDS)
    assert ids[: len(GOOD_IDS)].tolist() == [int(v, 16) for v in GOOD_IDS]
    assert ids[len(GOOD_IDS) :].tolist() == [0] * len(BAD_IDS)


def test_decode_can_id_29_bit_boundary() -> None:
    ids, ok = fr.decode_can_id(pa.array([f"{(1 << 29) - 1:X}", f"{1 << 29:X}"]))
    assert ok.tolist() == [True, False]
    assert ids[0] == 2**29 - 1 == 536870911


def test_decode_can_id_empty_and_null_are_not_ids() -> None:
    ids, ok = fr.decode_can_id(pa.array(["", None, "1E5"]))
    assert ok.tolist() == [False, False, True]
    assert ids.tolist() == [0, 0, 485]


def test_decode_payload_matches_bytes_fromhex() -> None:
    payload, dlc, ok = fr.decode_payload(pa.array(GOOD_PAYLOADS + BAD_PAYLOADS))
    assert payload.dtype == np.uint8
    assert payload.shape == (len(GOOD_PAYLOADS) + len(BAD_PAYLOADS), 8)
    assert ok.tolist() == [True] * len(GOOD_PAYLOADS) + [False] * len(BAD_PAYLOADS)
    for i, text in enumerate(GOOD_PAYLOADS):
        data = bytes.fromhex(text)
        assert dlc[i] == len(data)
        assert bytes(payload[i]) == data + bytes(8 - len(data)), text
    n = len(GOOD_PAYLOADS)
    assert not payload[n:].any()
    assert not dlc[n:].any()


def test_decode_payload_one_to_eight() -> None:
    payload, dlc, ok = fr.decode_payload(pa.array(["0102030405060708"]))
    assert ok.tolist() == [True]
    assert dlc.tolist() == [8]
    assert payload[0].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]


def test_decode_payload_of_a_sliced_array() -> None:
    """An array slice starts at an offset into the shared buffers: decode from there."""
    values = pa.array(["AA", "0102", "BBCC", "0D"]).slice(1, 2)
    payload, dlc, ok = fr.decode_payload(values)
    assert ok.tolist() == [True, True]
    assert dlc.tolist() == [2, 2]
    assert payload[:, :2].tolist() == [[1, 2], [0xBB, 0xCC]]


def test_decoders_on_empty_input() -> None:
    ids, ok = fr.decode_can_id(pa.array([], pa.string()))
    assert ids.shape == (0,)
    assert ok.shape == (0,)
    payload, dlc, ok = fr.decode_payload(pa.array([], pa.large_string()))
    assert payload.shape == (0, 8)
    assert dlc.shape == ok.shape == (0,)


@pytest.mark.parametrize(
    "text",
    ["0", "0.0", "1672531216.120374", "1.5", "1e3", "1E-3", ".5", "7.", "+2.25", "00001.5"],
)
def test_decode_timestamp_matches_float(text: str) -> None:
    seconds, ok = fr.decode_timestamp(pa.array([text]))
    assert ok.tolist() == [True]
    assert seconds.dtype == np.float64
    assert seconds[0] == float(text)


@pytest.mark.parametrize(
    "text", ["inf", "-inf", "Infinity", "1e400", "-1", "-0.000001", "abc", "12:00:01", "1.2.3", ""]
)
def test_decode_timestamp_rejects(text: str) -> None:
    # Also next to a good value: the slow path (some text not a number) must agree.
    seconds, ok = fr.decode_timestamp(pa.array([text, "3.5"]))
    assert ok.tolist() == [False, True]
    assert seconds.tolist() == [0.0, 3.5]


def test_decode_timestamp_slow_path_keeps_exact_values() -> None:
    texts = ["1672531216.120374", "1672531216.120377", "0.1", "bad", "1672531250.098133"]
    seconds, ok = fr.decode_timestamp(pa.array(texts))
    assert ok.tolist() == [True, True, True, False, True]
    assert seconds.tolist() == [float(t) if t != "bad" else 0.0 for t in texts]


def test_decode_label() -> None:
    labels, ok = fr.decode_label(pa.array(["0", "1", "2", "yes", "", None, " 1", "01", "1.0"]))
    assert ok.tolist() == [True, True] + [False] * 7
    assert labels.dtype == np.int8
    assert labels[:2].tolist() == [0, 1]


def test_padding_is_zero() -> None:
    payload = np.zeros((4, 8), np.uint8)
    payload[1, 2] = 7  # dlc 2: byte 2 is padding
    payload[2, 1] = 7  # dlc 2: byte 1 is data
    payload[3, 7] = 7  # dlc 8: no padding
    assert fr.padding_is_zero(payload, np.array([0, 2, 2, 8])).tolist() == [
        True,
        False,
        True,
        True,
    ]


def test_hex_nibbles_flags_long_and_non_hex_text() -> None:
    nibbles, lengths, ok = fr.hex_nibbles(pa.array(["a", "abcd", "abcde", "xy"]), 4)
    assert lengths.tolist() == [1, 4, 5, 2]
    assert ok.tolist() == [True, True, False, False]
    assert nibbles[0].tolist() == [10, 0, 0, 0]  # left-aligned, padded with '0'
    assert nibbles[1].tolist() == [10, 11, 12, 13]
    assert not nibbles[2:].any()
    right, _, _ = fr.hex_nibbles(pa.array(["a"]), 4, align="right")
    assert right[0].tolist() == [0, 0, 0, 10]


def test_decode_can_id_accepts_leading_zeros_past_8_digits() -> None:
    ids, ok = fr.decode_can_id(pa.array(["0000001E5", "000000001FFFFFFF"]))
    assert ok.tolist() == [True, True]
    assert ids.tolist() == [0x1E5, 0x1FFFFFFF]
