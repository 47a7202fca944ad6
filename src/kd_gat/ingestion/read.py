"""Reading one raw capture file: decompress, hash the content, split the CSV into string columns.

Judging rows is `kd_gat.ingestion.validate`'s job. A whole-file problem (unreadable gzip, empty
file, missing column) raises `CaptureError` naming the file.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from isal import igzip
from isal.isal_zlib import error as IsalError

from kd_gat.ingestion.captures import CaptureError, RawCapture, line_bounds
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


def read_capture(file: Path, relpath: str, labelled: bool = True) -> RawCapture:
    """Read one capture into string columns; lines with a wrong field count are set aside.

    An unlabelled capture (`labelled=False`) may lack the `attack` column: it is read as 0.
    """
    text = _decompress(file)
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
    missing = [c for c in RAW_COLUMNS if c not in header and (labelled or c != "attack")]
    if missing:
        raise CaptureError(
            f"{file}: missing column(s) {missing} in header {header} (expected {RAW_COLUMNS})"
        )
    rows_in = len(bounds[0]) - 1
    if rows_in == 0:
        raise CaptureError(f"{file}: empty file (header only, no frames)")
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
                include_columns=[written[c] for c in RAW_COLUMNS if c in written],
                # only an empty field is missing: "NA", "null", "nan" stay text and are judged
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise CaptureError(f"{file}: not a readable CSV ({exc})") from exc
    table = table.rename_columns([name.strip() for name in table.column_names])
    if "attack" not in header:
        label = pa.repeat(pa.scalar("0", pa.large_string()), table.num_rows)
        table = table.append_column("attack", label)
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
        text=text,
    )
