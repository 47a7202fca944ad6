"""Captures: one raw recording of CAN traffic, and what its place in the dataset says.

The dataset layout is `<raw_root>/<dataset>/<split folder>/<capture>.csv[.gz]`. The split folder
gives the split and the test scenario; the file name gives the attack kind. Besides the dataset's
CSV, a capture may be a candump log (`.log[.gz]`), a Vector ASC (`.asc`) or BLF (`.blf`) log;
see `kd_gat.ingestion.logs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
import pyarrow as pa

CAPTURE_SUFFIXES = (".csv", ".csv.gz", ".log", ".log.gz", ".asc", ".blf")
ATTACK_FREE = "none"


class CaptureError(ValueError):
    """A whole capture file cannot be ingested (unreadable, empty, wrong columns, ...)."""


@dataclass(frozen=True)
class CaptureInfo:
    """Where a capture sits in the dataset: id, split, scenario and attack kind."""

    capture: str  # "<split folder>/<file stem>", unique within a dataset
    split: str  # train_attack_free | train_with_attacks | test
    scenario: str  # the split folder name, e.g. test_01_known_vehicle_known_attack
    attack_kind: str  # "none" for attack-free traffic


@dataclass(frozen=True)
class RawCapture:
    """The text of one capture, as read from disk, before any row is judged.

    `table` holds the four CSV columns as strings (null where a field is empty);
    `bad_lines` are (data row, line text) of lines with the wrong number of fields, which the
    CSV reader skipped; `rows_in` counts the data lines of the file independently of the parser;
    `text` is the decompressed file, kept to quote rejected lines exactly; `header_lines` is how
    many non-blank lines precede the first data row (1 for a CSV header, 0 for a candump log).
    """

    relpath: str
    file: str
    table: pa.Table
    bad_lines: tuple[tuple[int, str], ...]
    rows_in: int
    sha256: str
    text: bytes = field(repr=False, default=b"")
    header_lines: int = 1

    def lines(self, rows: np.ndarray) -> list[str]:
        """The exact text of the given 1-based data rows (header excluded, blank lines skipped)."""
        starts, ends = line_bounds(self.text)
        rows = np.asarray(rows, dtype=np.int64) + (self.header_lines - 1)
        return [
            self.text[a:b].decode("utf-8", "replace").rstrip("\r")
            for a, b in zip(starts[rows], ends[rows], strict=True)
        ]


def line_bounds(text: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) byte offsets of the non-blank lines, header first.

    Lines end at "\n", "\r\n" or a lone "\r" — the CSV reader's rule — so that counting and
    numbering rows here agrees with the reader.
    """
    chars = np.frombuffer(text, np.uint8)
    if not chars.size:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if b"\r" not in text:  # fast path, same result: "\n" is then the only line end
        ends = np.flatnonzero(chars == ord("\n"))
        starts = np.concatenate([[0], ends + 1])
        ends = np.concatenate([ends, [len(chars)]])
        keep = ends > starts
        return starts[keep], ends[keep]
    cr, lf = chars == ord("\r"), chars == ord("\n")
    lone_cr = cr & ~np.concatenate([lf[1:], [False]])
    ends = np.flatnonzero(lf | lone_cr)
    starts = np.concatenate([[0], ends + 1])
    ends = np.concatenate([ends, [len(chars)]])
    # a CRLF line's "\r" is not content
    content_end = ends - (cr[np.maximum(ends - 1, 0)] & (ends > starts))
    keep = content_end > starts
    return starts[keep], content_end[keep]


def strip_suffix(name: str) -> str:
    """`DoS-1.csv.gz` → `DoS-1`, `drive.log.gz` → `drive`, `bench.asc` → `bench`."""
    for suffix in sorted(CAPTURE_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def split_of(folder: str) -> str:
    """Split of a dataset folder name such as `train_02_with_attacks` or `test_05_suppress`."""
    name = folder.lower()
    if name.startswith("test"):
        return "test"
    if name.startswith("train") and "attack_free" in name:
        return "train_attack_free"
    if name.startswith("train") and "attack" in name:
        return "train_with_attacks"
    raise CaptureError(
        f"{folder}: unknown split folder (expected train_*_attack_free, train_*_with_attacks "
        "or test_*)"
    )


def attack_kind_of(stem: str, split: str, keywords: dict[str, str]) -> str:
    """Attack kind from a capture's file stem, e.g. `targeted_payload_fuzzing-2` → `fuzzing`.

    `keywords` maps a lower-case word found in the stem to its kind (first match wins); a stem
    with no known word keeps its own name without the trailing `-N` index.
    """
    if split == "train_attack_free":
        return ATTACK_FREE
    base = re.sub(r"[-_]\d+$", "", stem)
    lowered = base.lower()
    for word, kind in keywords.items():
        if word.lower() in lowered:
            return kind
    return base


def describe(relpath: str, keywords: dict[str, str]) -> CaptureInfo:
    """Capture id, split, scenario and attack kind of `<split folder>/<file>`."""
    path = PurePosixPath(relpath)
    if len(path.parts) != 2:
        raise CaptureError(f"{relpath}: expected <split folder>/<capture file>")
    folder, name = path.parts
    split = split_of(folder)
    stem = strip_suffix(name)
    return CaptureInfo(
        capture=f"{folder}/{stem}",
        split=split,
        scenario=folder,
        attack_kind=attack_kind_of(stem, split, keywords),
    )


def describe_unlabelled(relpath: str) -> CaptureInfo:
    """A new capture to score, anywhere under the input folder: its path is its id."""
    path = PurePosixPath(relpath)
    return CaptureInfo(
        capture=str(path.with_name(strip_suffix(path.name))),
        split="test",
        scenario="inference",
        attack_kind="unknown",
    )
