"""Property test: any mix of good and bad rows is split exactly into frames and rejects."""

from __future__ import annotations

import gzip
import string
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kd_gat.ingestion.read import read_capture
from kd_gat.ingestion.schemas import REASONS, Frames, RejectedFrames
from kd_gat.pipelines.ingestion.nodes import ingest_captures
from tests.ingestion.helpers import (
    ARROW_NULL_TOKENS,
    BYTE_COLUMNS,
    FIELD_COUNT,
    HEADER,
    MAX_CAN_ID,
    load_params,
)

PARAMS = load_params()
HEX = "0123456789abcdefABCDEF"
NOT_HEX = "gGxXzZ.-+:_/ q"


def _case(text: str, how: str) -> str:
    return {"upper": text.upper(), "lower": text.lower()}.get(how, text)


def _no_null_token(text: str) -> bool:
    return text not in ARROW_NULL_TOKENS


# --- valid fields: (text, decoded value) ---------------------------------------------------------

timestamps = st.one_of(
    st.floats(0, 2e9).map(repr),
    st.floats(1.6e9, 1.8e9).map(lambda x: f"{x:.6f}"),
    st.integers(0, 2**40).map(str),
    st.floats(0, 1e6).map(lambda x: f"{x:.4e}"),
).map(lambda text: (text, float(text)))


@st.composite
def can_ids(draw, low: int = 0, high: int = MAX_CAN_ID) -> tuple[str, int]:
    value = draw(st.integers(low, high))
    digits = f"{value:x}"
    width = draw(st.integers(len(digits), max(len(digits), 8)))
    return _case(digits.zfill(width), draw(st.sampled_from(["upper", "lower", "keep"]))), value


@st.composite
def payloads(draw, min_size: int = 0, max_size: int = 8) -> tuple[str, bytes]:
    data = draw(st.binary(min_size=min_size, max_size=max_size))
    return _case(data.hex(), draw(st.sampled_from(["upper", "lower"]))), data


labels = st.sampled_from([("0", 0), ("1", 1)])


@st.composite
def good_rows(draw) -> dict:
    (ts, ts_value), (cid, cid_value) = draw(timestamps), draw(can_ids())
    (payload, data), (label, attack) = draw(payloads()), draw(labels)
    return {
        "kind": "good",
        "fields": [ts, cid, payload, label],
        "frame": {
            "timestamp": ts_value,
            "can_id": cid_value,
            "dlc": len(data),
            **{name: (data.ljust(8, b"\0"))[i] for i, name in enumerate(BYTE_COLUMNS)},
            "attack": attack,
        },
    }


# --- invalid fields: (column index, bad text, reason) --------------------------------------------

junk = st.text(NOT_HEX, min_size=1, max_size=6)


def _with_junk(draw, hex_part: str) -> str:
    """Insert at least one non-hex character somewhere into `hex_part`."""
    at = draw(st.integers(0, len(hex_part)))
    return hex_part[:at] + draw(junk) + hex_part[at:]


@st.composite
def bad_timestamp(draw) -> tuple[int, str, str]:
    text = draw(
        st.one_of(
            st.sampled_from(["inf", "-inf", "+inf", "Infinity", "-Infinity", "INF", "1e400"]),
            st.floats(max_value=-1e-6, allow_infinity=False).map(repr),  # negative
            st.text("xyz:/_ ", min_size=1, max_size=8),  # not a number
            st.sampled_from(["1.2.3", "12:00:01", "1e", "e5", "--1", "0x10", "1 5"]),
        )
    )
    return 0, text, REASONS["finite_timestamp"]


@st.composite
def bad_can_id(draw) -> tuple[int, str, str]:
    kind = draw(st.sampled_from(["more than 29 bits", "more than 8 digits", "not hex"]))
    if kind == "more than 29 bits":
        text = draw(can_ids(MAX_CAN_ID + 1, 2**32 - 1))[0]
    elif kind == "more than 8 digits":
        text = draw(can_ids(2**32, 2**48))[0]
    else:
        text = _with_junk(draw, draw(st.text(HEX, max_size=6)))
    return 1, text, REASONS["hex_can_id"]


@st.composite
def bad_payload(draw) -> tuple[int, str, str]:
    kind = draw(st.sampled_from(["odd", "not hex", "too long"]))
    if kind == "odd":
        text = draw(st.text(HEX, min_size=1, max_size=17).filter(lambda t: len(t) % 2 == 1))
    elif kind == "not hex":
        text = _with_junk(draw, draw(payloads())[0])
    else:
        text = draw(payloads(9, 12))[0]
    return 2, text, REASONS["hex_payload"]


@st.composite
def bad_label(draw) -> tuple[int, str, str]:
    text = draw(
        st.one_of(
            st.sampled_from(["2", "yes", "no", "-1", "01", "00", "true", "1.0", " 1", "0 ", "O"]),
            st.integers(2, 10**6).map(str),
            st.text(string.ascii_letters, min_size=1, max_size=5),
        )
    )
    return 3, text, REASONS["binary_label"]


missing = st.integers(0, 3).filter(lambda i: i != 2).map(lambda i: (i, "", REASONS["not_nullable"]))


@st.composite
def bad_rows(draw) -> dict:
    row = draw(good_rows())
    column, text, reason = draw(
        st.one_of(bad_timestamp(), bad_can_id(), bad_payload(), bad_label(), missing).filter(
            lambda bad: _no_null_token(bad[1])
        )
    )
    fields = list(row["fields"])
    fields[column] = text
    return {
        "kind": "bad",
        "fields": fields,
        "column": HEADER.split(",")[column],
        "reason": reason,
        "value": text,
    }


@st.composite
def wrong_field_count(draw) -> dict:
    fields = draw(good_rows())["fields"]
    n = draw(st.sampled_from([1, 2, 3, 5, 6]))
    fields = (fields + fields)[:n]
    line = ",".join(fields)
    return {"kind": "bad", "line": line, "column": "*", "reason": FIELD_COUNT, "value": line}


spaces = st.integers(1, 3).map(
    lambda n: {
        "kind": "bad",
        "line": " " * n,
        "column": "*",
        "reason": FIELD_COUNT,
        "value": " " * n,
    }
)
blank = st.just({"kind": "blank", "line": ""})


@st.composite
def captures(draw) -> tuple[str, list[dict], str]:
    rows = draw(
        st.lists(
            st.one_of(good_rows(), bad_rows(), wrong_field_count(), spaces, blank),
            min_size=1,
            max_size=40,
        ).filter(lambda rows: any(r["kind"] != "blank" for r in rows))
    )
    for row in rows:
        row.setdefault("line", ",".join(row.get("fields", [])))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    final = draw(st.booleans())
    text = newline.join([HEADER, *(r["line"] for r in rows)]) + (newline if final else "")
    folder = draw(
        st.sampled_from(
            [
                "train_01_attack_free",
                "train_02_with_attacks",
                "test_03_known_vehicle_unknown_attack",
            ]
        )
    )
    relpath = f"{folder}/{draw(st.sampled_from(['DoS-1', 'speed-3', 'accessory-2']))}"
    relpath += draw(st.sampled_from([".csv", ".csv.gz"]))
    return relpath, rows, text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(captures())
def test_every_row_is_a_frame_or_a_reject(capture) -> None:
    relpath, rows, text = capture
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / relpath
        path.parent.mkdir(parents=True)
        data = text.encode()
        path.write_bytes(gzip.compress(data) if relpath.endswith(".gz") else data)
        frames, rejects, report = ingest_captures([read_capture(path, relpath)], PARAMS)

    numbered = [r for r in rows if r["kind"] != "blank"]  # blank lines are not rows
    good = [(i, r) for i, r in enumerate(numbered, 1) if r["kind"] == "good"]
    bad = [(i, r) for i, r in enumerate(numbered, 1) if r["kind"] == "bad"]

    stats = report["captures"][0]
    assert stats["rows_in"] == len(numbered)
    assert stats["rows_valid"] == len(frames) == len(good)
    assert stats["rows_rejected"] == len(rejects) == len(bad)
    assert stats["rows_valid"] + stats["rows_rejected"] == stats["rows_in"]
    assert stats["rejects_by_reason"] == dict(Counter(r["reason"] for _, r in bad))
    assert report["totals"]["rows_in"] == len(numbered)

    assert (np.diff(frames["timestamp"].to_numpy()) >= 0).all()  # in time order ...
    frames = frames.sort_values("row", ignore_index=True)  # ... and nothing else changed
    assert frames["row"].tolist() == [i for i, _ in good]
    columns = ["timestamp", "can_id", "dlc", *BYTE_COLUMNS, "attack"]
    assert frames[columns].to_dict("records") == [r["frame"] for _, r in good]
    capture_id = relpath.removesuffix(".gz").removesuffix(".csv")
    assert set(frames["capture"]) <= {capture_id}

    got = sorted(rejects[["row", "column", "reason", "value", "line"]].itertuples(index=False))
    want = sorted((i, r["column"], r["reason"], r["value"], r["line"]) for i, r in bad)
    assert [tuple(g) for g in got] == want
    assert set(rejects["capture"]) <= {capture_id}
    assert set(rejects["file"]) <= {str(path)}

    Frames.validate(frames)
    RejectedFrames.validate(rejects)
