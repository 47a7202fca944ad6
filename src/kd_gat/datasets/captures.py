"""Kedro dataset reading a folder of raw CAN captures (`<split folder>/<capture>.csv[.gz]`).

Only I/O lives here: finding the files, decompressing, hashing the content and splitting the
CSV into string columns. Judging rows is the ingestion pipeline's job. A whole-file problem
(unreadable gzip, empty file, missing column, no captures at all) raises `CaptureError` naming
the file.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from isal import igzip
from kedro.io import AbstractDataset, DatasetError

from kd_gat.captures import CAPTURE_SUFFIXES, CaptureError, RawCapture
from kd_gat.frames import RAW_COLUMNS

_GZIP_MAGIC = b"\x1f\x8b"


def _decompress(file: Path) -> bytes:
    data = file.read_bytes()
    if data[:2] != _GZIP_MAGIC:
        if file.name.endswith(".gz"):
            raise CaptureError(f"{file}: not a gzip file")
        return data
    try:
        return igzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise CaptureError(f"{file}: unreadable gzip ({exc})") from exc


def _count_data_lines(text: bytes) -> int:
    """Non-empty lines after the header, counted on the bytes, independently of the CSV parser."""
    chars = np.frombuffer(text, np.uint8)
    ends = np.flatnonzero(chars == ord("\n"))
    starts = np.concatenate([[0], ends + 1])
    width = np.concatenate([ends, [len(chars)]]) - starts
    blank = width == 0
    lone = np.flatnonzero(width == 1)
    blank[lone] = chars[starts[lone]] == ord("\r")  # a line holding only "\r" is blank too
    return max(len(width) - int(np.count_nonzero(blank)) - 1, 0)


def read_capture(file: Path, relpath: str) -> RawCapture:
    """Read one capture into string columns; lines with a wrong field count are set aside."""
    text = _decompress(file)
    if not text:
        raise CaptureError(f"{file}: empty file")
    first_line = text[: text.find(b"\n")] if b"\n" in text[:4096] else text[:4096]
    header = [h.strip() for h in first_line.decode("utf-8", "replace").split(",")]
    missing = [c for c in RAW_COLUMNS if c not in header]
    if missing:
        raise CaptureError(
            f"{file}: missing column(s) {missing} in header {header} (expected {RAW_COLUMNS})"
        )
    bad_lines: list[tuple[int, str]] = []

    def skip(row: Any) -> str:  # called by the reader for malformed lines only
        bad_lines.append((row.number - 1, row.text))  # physical line → 1-based data row
        return "skip"

    try:
        table = pa_csv.read_csv(
            pa.BufferReader(text),
            read_options=pa_csv.ReadOptions(use_threads=False, block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=skip),
            convert_options=pa_csv.ConvertOptions(
                column_types={c: pa.large_string() for c in header},
                include_columns=RAW_COLUMNS,
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise CaptureError(f"{file}: not a readable CSV ({exc})") from exc
    rows_in = _count_data_lines(text)
    if rows_in == 0:
        raise CaptureError(f"{file}: empty file (header only, no frames)")
    # An empty payload is a DLC-0 frame, not a missing value.
    payload = pc.fill_null(table.column("data_field"), "")
    table = table.set_column(RAW_COLUMNS.index("data_field"), "data_field", payload)
    return RawCapture(
        relpath=relpath,
        file=str(file),
        table=table,
        bad_lines=tuple(bad_lines),
        rows_in=rows_in,
        sha256=hashlib.sha256(text).hexdigest(),
    )


class CaptureFolderDataset(AbstractDataset[None, list[RawCapture]]):
    """Read-only: every `<split folder>/<capture>.csv[.gz]` under `path`, sorted by name."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def _files(self) -> list[Path]:
        if not self._path.is_dir():
            raise CaptureError(f"{self._path}: dataset folder not found")
        files = sorted(
            f for f in self._path.glob("*/*") if f.is_file() and f.name.endswith(CAPTURE_SUFFIXES)
        )
        if not files:
            raise CaptureError(
                f"{self._path}: no captures found (expected <split folder>/<capture>.csv[.gz])"
            )
        return files

    def load(self) -> list[RawCapture]:
        return [read_capture(f, f.relative_to(self._path).as_posix()) for f in self._files()]

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._path}: raw captures are read-only")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
