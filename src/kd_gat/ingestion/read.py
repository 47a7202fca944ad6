"""Reading one raw capture file: decompress, hash the content, split it into string columns.

CSV is read here; candump, ASC, BLF and python-can CSV by `kd_gat.ingestion.logs`, picked by the
file's suffix (and python-can CSV by its header). Judging rows is `kd_gat.ingestion.validate`'s
job. A whole-file problem (unreadable gzip, empty file, missing column) raises `CaptureError`
naming the file.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from isal import igzip
from isal.isal_zlib import error as IsalError

from kd_gat.ingestion import logs
from kd_gat.ingestion.captures import CaptureError, RawCapture, line_bounds, split_of
from kd_gat.ingestion.frames import RAW_COLUMNS

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"


def _decompress(file: Path) -> bytes:
    data = file.read_bytes()
    if data[:2] != _GZIP_MAGIC:
        if file.name.endswith(".gz"):
            raise CaptureError(f"{file}: not a gzip file")
        return data
    try:
        return igzip.decompress(data)
    except (OSError, EOFError, zlib.error, IsalError) as exc:
        raise CaptureError(f"{file}: unreadable gzip ({exc})") from exc


def _unlabelled_log(file: Path, relpath: str, labelled: bool, kind: str) -> None:
    """A log format has no attack labels: a labelled dataset may hold it only as attack-free
    traffic, where every frame is 0 by definition; elsewhere it would be read as all normal."""
    parts = PurePosixPath(relpath).parts
    if not labelled or (len(parts) == 2 and split_of(parts[0]) == "train_attack_free"):
        return
    raise CaptureError(
        f"{file}: a {kind} carries no attack labels; in a labelled dataset it is accepted only "
        "in a train_*_attack_free folder"
    )


def _csv_columns(
    text: bytes, file: Path, names: list[str], include: list[str]
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The `include` columns (as written in the header `names`) as strings, and the bad lines."""
    bad_lines: list[tuple[int, str]] = []

    def skip(row: Any) -> str:  # called by the reader for malformed lines only
        bad_lines.append((row.number - 1, row.text))  # physical line → 1-based data row
        return "skip"

    try:
        table = pa_csv.read_csv(
            pa.BufferReader(text),
            read_options=pa_csv.ReadOptions(use_threads=False, block_size=1 << 24),
            # CAN captures never quote: a stray quote is data (and then not hex), not a field
            parse_options=pa_csv.ParseOptions(quote_char=False, invalid_row_handler=skip),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.large_string() for name in names},
                include_columns=include,
                # only an empty field is missing: "NA", "null", "nan" stay text and are judged
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise CaptureError(f"{file}: not a readable CSV ({exc})") from exc
    return table.rename_columns([name.strip() for name in table.column_names]), bad_lines


def read_capture(file: Path, relpath: str, labelled: bool = True) -> RawCapture:
    """Read one capture into string columns; lines with a wrong field count are set aside.

    The format follows the suffix: `.log[.gz]` is a candump log, `.asc` / `.blf` a Vector log
    (`kd_gat.ingestion.logs`), anything else CSV: the dataset's, or python-can's (recognised by
    its header). An unlabelled capture (`labelled=False`) may lack the `attack` column: it is read
    as 0. The log formats and python-can's CSV carry no labels, so in a labelled dataset they are
    accepted only in attack-free split folders.
    """
    text = _decompress(file)
    if file.name.endswith(logs.CANDUMP_SUFFIXES):
        _unlabelled_log(file, relpath, labelled, "candump log")
        return logs.parse_candump(text, str(file), relpath)
    if file.name.endswith(logs.PYTHON_CAN_SUFFIXES):
        _unlabelled_log(file, relpath, labelled, f"{file.suffix[1:].upper()} log")
        return logs.read_python_can_log(text, str(file), relpath)
    return _read_csv(text, file, relpath, labelled)


def _read_csv(text: bytes, file: Path, relpath: str, labelled: bool) -> RawCapture:
    """A CSV capture: the dataset's four columns, or python-can's CSV when its header says so."""
    bounds = line_bounds(text)
    if not len(bounds[0]):
        raise CaptureError(f"{file}: empty file")
    header_line = text[bounds[0][0] : bounds[1][0]].removeprefix(_BOM)
    names = header_line.decode("utf-8", "replace").split(",")  # as written, spaces included
    header = [h.strip() for h in names]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise CaptureError(f"{file}: column(s) {repeated} appear more than once in the header")
    written = dict(zip(header, names, strict=True))
    python_can = header == logs.PYTHON_CAN_CSV_COLUMNS
    if python_can:
        _unlabelled_log(file, relpath, labelled, "python-can CSV")
    missing = [c for c in RAW_COLUMNS if c not in header and (labelled or c != "attack")]
    if missing and not python_can:
        raise CaptureError(
            f"{file}: missing column(s) {missing} in header {header} (expected {RAW_COLUMNS})"
        )
    rows_in = len(bounds[0]) - 1
    if rows_in == 0:
        raise CaptureError(f"{file}: empty file (header only, no frames)")
    wanted = logs.PYTHON_CAN_CSV_COLUMNS if python_can else RAW_COLUMNS
    table, bad_lines = _csv_columns(text, file, names, [written[c] for c in wanted if c in written])
    capture = RawCapture(
        relpath=relpath,
        file=str(file),
        table=table,
        bad_lines=tuple(bad_lines),
        rows_in=rows_in,
        sha256=hashlib.sha256(text).hexdigest(),
        text=text,
    )
    if python_can:
        return logs.python_can_csv(table, capture)
    if "attack" not in header:
        label = pa.repeat(pa.scalar("0", pa.large_string()), table.num_rows)
        table = table.append_column("attack", label)
    # An empty payload is a DLC-0 frame, not a missing value.
    payload = pc.fill_null(table.column("data_field"), "")
    table = table.set_column(RAW_COLUMNS.index("data_field"), "data_field", payload)
    return replace(capture, table=table)
