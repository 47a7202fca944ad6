"""Helpers for the ingestion tests: writing captures, loading parameters, a reference row check.

The reference check (`expected_reject`) is an independent, plain-Python statement of what a
valid CSV row is (regular expressions, `int(x, 16)`, `bytes.fromhex`, `float`), used to compute
expected results for data the tests did not write by hand.
"""

from __future__ import annotations

import gzip
import math
import re
from pathlib import Path
from typing import Any

import pyarrow.csv as pa_csv
import yaml

from kd_gat.ingestion.schemas import REASONS
from tests.conftest import PROJECT

CORPUS = PROJECT / "tests" / "data" / "corpus"
HEADER = "timestamp,arbitration_id,data_field,attack"
COLUMNS = HEADER.split(",")
FIELD_COUNT = "wrong number of fields"  # reason of a line with the wrong number of fields
MAX_CAN_ID = (1 << 29) - 1
BYTE_COLUMNS = [f"byte_{i}" for i in range(8)]
# Texts that pyarrow's CSV reader turns into null by default: a CAN capture never means "missing"
# by them, so the strategies keep them out of the property test (see the xfail tests for them).
ARROW_NULL_TOKENS = frozenset(pa_csv.ConvertOptions().null_values) - {""}

_HEX_ID = re.compile(r"[0-9A-Fa-f]{1,8}")
_HEX_PAYLOAD = re.compile(r"(?:[0-9A-Fa-f]{2}){0,8}")
_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")


def load_params() -> dict[str, Any]:
    """`params:ingestion` as conf/base/parameters_ingestion.yml states it."""
    with open(PROJECT / "conf" / "base" / "parameters_ingestion.yml") as f:
        return yaml.safe_load(f)["ingestion"]


def write_capture(root: Path, relpath: str, text: str | bytes) -> Path:
    """Write `text` to `root/relpath`, gzip-compressed when the name ends with `.gz`."""
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if relpath.endswith(".gz") else data)
    return path


def csv_text(*lines: str, header: str = HEADER, newline: str = "\n") -> str:
    """A capture's text: header, then `lines`, each ended by `newline`."""
    return "".join(line + newline for line in (header, *lines))


def expected_reject(line: str) -> tuple[str, str] | None:
    """(column, reason) a data line must be rejected with, or None when it is a valid frame.

    Columns are judged in file order and the first failing one is reported.
    """
    fields = line.split(",")
    if len(fields) != len(COLUMNS):
        return "*", FIELD_COUNT
    timestamp, can_id, payload, label = fields
    if timestamp == "":
        return "timestamp", REASONS["not_nullable"]
    if not _NUMBER.fullmatch(timestamp) or not 0 <= float(timestamp) < math.inf:
        return "timestamp", REASONS["finite_timestamp"]
    if can_id == "":
        return "arbitration_id", REASONS["not_nullable"]
    if not _HEX_ID.fullmatch(can_id) or int(can_id, 16) > MAX_CAN_ID:
        return "arbitration_id", REASONS["hex_can_id"]
    if not _HEX_PAYLOAD.fullmatch(payload):
        return "data_field", REASONS["hex_payload"]
    if label == "":
        return "attack", REASONS["not_nullable"]
    if label not in ("0", "1"):
        return "attack", REASONS["binary_label"]
    return None


def expected_frame(line: str) -> dict[str, Any]:
    """Typed values of a valid data line, decoded with the standard library."""
    timestamp, can_id, payload, label = line.split(",")
    data = bytes.fromhex(payload)
    padded = data + bytes(8 - len(data))
    return {
        "timestamp": float(timestamp),
        "can_id": int(can_id, 16),
        "dlc": len(data),
        **{name: padded[i] for i, name in enumerate(BYTE_COLUMNS)},
        "attack": int(label),
    }


def data_lines(text: str) -> list[str]:
    """The data lines of a capture's text: header and blank lines dropped, line ends stripped."""
    lines = [line.rstrip("\r") for line in text.split("\n")[1:]]
    return [line for line in lines if line != ""]
