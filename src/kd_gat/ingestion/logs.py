"""CAN log formats besides the dataset's CSV: candump, Vector ASC and BLF, python-can CSV.

Every reader here returns the `RawCapture` the CSV reader returns: the four raw columns as text
(`timestamp`, hex `arbitration_id`, hex `data_field`, `attack`), so the same row validation and
rejects (`kd_gat.ingestion.validate`) judge every format. These formats carry no attack label:
`attack` is "0" on every row, and the capture is unlabelled.

candump (`candump -l`, SocketCAN can-utils; `.log`, `.log.gz`): one frame a line,

    (1436509052.249713) vcan0 044#2A366C2BBA

timestamp in parentheses (seconds), interface, then `<hex id>#<hex payload>`; 3 id digits for an
11-bit id, 8 for a 29-bit one. `candump -x` appends ` R` / ` T` (received / sent). Frames the
`frames` table cannot hold keep candump's notation in `data_field` and are rejected by validation
with the data_field reason, never dropped: remote frames `123#R` (or `123#R3` with a DLC), CAN FD
frames `123##<flags><payload>`, classic frames with a DLC above 8 `123#<payload>_<dlc>`. Error
frames carry the error flag 0x20000000 in their id and are rejected as exceeding 29 bits. A line
without the `(time) interface id#data` shape is a bad line (row number and text kept, reason
"wrong number of fields"). Rows are the non-blank lines, numbered from 1; there is no header.

Vector ASC (`.asc`) and BLF (`.blf`) are read by python-can (`can.ASCReader`, `can.BLFReader`,
the readers `can.LogReader` picks for these suffixes) and each message is rendered as the line
`candump -l` would log for it, which is then parsed as above: the quoted line of a rejected row is
that rendering. ASC timestamps are seconds from the start of the measurement (python-can's
default), BLF timestamps are absolute; both are kept to the microsecond.

python-can CSV (`can.CSVWriter`; a `.csv` file whose header is
`timestamp,arbitration_id,extended,remote,error,dlc,data`, payload in base64) is recognised by its
header in `kd_gat.ingestion.read` and converted here, each row quoting its own line.

The channel (interface) is not kept: the frames of every channel of a log form one capture.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import io
import logging
import re
from base64 import b64decode
from dataclasses import replace
from pathlib import Path

import can
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from isal import igzip

from kd_gat.ingestion.captures import CaptureError, RawCapture, line_bounds
from kd_gat.ingestion.frames import BYTE_COLUMNS, PAYLOAD_BYTES

log = logging.getLogger(__name__)

CANDUMP_SUFFIXES = (".log", ".log.gz")
PYTHON_CAN_SUFFIXES = (".asc", ".blf")
PYTHON_CAN_CSV_COLUMNS = [
    "timestamp",
    "arbitration_id",
    "extended",
    "remote",
    "error",
    "dlc",
    "data",
]
CAN_ERR_FLAG = 0x20000000  # SocketCAN's error-frame flag in the id
MAX_STANDARD_ID = 0x7FF

_HEX_DIGITS = np.frombuffer(b"0123456789ABCDEF", np.uint8)
_REPLACEMENT = "\ufffd".encode()  # what undecodable bytes become


def _next(positions: np.ndarray, at: np.ndarray, size: int) -> np.ndarray:
    """Per line: the first of `positions` (sorted byte offsets) at or after `at`, else `size`."""
    found = np.append(positions, size)
    return found[np.searchsorted(positions, at)]


def _fields(buffer: pa.Buffer, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """The byte ranges [starts, ends) of `buffer` as a compact Arrow string array.

    The ranges lie in order and do not overlap, so one zero-copy array over the buffer whose
    values alternate range, gap, range, ... holds them all; taking every other value copies them
    out in C++.
    """
    if not len(starts):
        return pa.array([], pa.large_string())
    offsets = np.empty(2 * len(starts), np.int64)
    offsets[0::2], offsets[1::2] = starts, ends
    spans = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), buffer)
    return spans.take(pa.array(np.arange(0, len(offsets) - 1, 2)))


def _same_bytes(chars: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bool:
    """Whether the byte ranges [starts, ends) all hold the same text (a loop over its length)."""
    if not len(starts):
        return True
    width = int(ends[0] - starts[0])
    first = chars[starts[0] : ends[0]]
    return bool((ends - starts == width).all()) and all(
        (chars[starts + j] == first[j]).all() for j in range(width)
    )


def _empty_to_null(values: pa.Array) -> pa.Array:
    """An empty field is a missing value, as in the CSV reader."""
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)


def _utf8(text: bytes) -> tuple[bytes, np.ndarray | None]:
    """`text` if it is UTF-8; else its decoding with replacement characters and where they are."""
    whole = pa.LargeStringArray.from_buffers(
        1, pa.py_buffer(np.array([0, len(text)], np.int64)), pa.py_buffer(text)
    )
    try:
        whole.validate(full=True)
        return text, None
    except pa.ArrowInvalid:
        clean = text.decode("utf-8", "replace").encode()
        chars = np.frombuffer(clean, np.uint8)
        at = (chars[:-2] == _REPLACEMENT[0]) & (chars[1:-1] == _REPLACEMENT[1])
        return clean, np.flatnonzero(at & (chars[2:] == _REPLACEMENT[2]))


def parse_candump(text: bytes, file: str, relpath: str) -> RawCapture:
    """Split a decompressed candump log into the raw text columns, vectorised.

    The delimiters `(`, `)`, ` ` and `#` are located once in the whole byte buffer (numpy), each
    line finds its own by binary search, and the fields are cut out by Arrow: no Python loop per
    line. A line is `(<timestamp>) <interface> <id>#<data>`, optionally followed by ` R` or ` T`;
    the interface may be padded with spaces on its left, as candump aligns it. A line of another
    shape is a bad line; the fields of a well-shaped line are judged by validation. Lines holding
    bytes that are not UTF-8 are bad lines.
    """
    sha256 = hashlib.sha256(text).hexdigest()
    original = text
    text, garbled = _utf8(text)
    starts, ends = line_bounds(text)
    if not len(starts):
        raise CaptureError(f"{file}: empty file")
    chars = np.frombuffer(text, np.uint8)
    size = len(chars)
    spaces = np.flatnonzero(chars == ord(" "))
    close = _next(np.flatnonzero(chars == ord(")")), starts, size)
    mark = _next(np.flatnonzero(chars == ord("#")), close, size)
    # the spaces around "<id>#<data>": the last one before "#" and the first one after it
    around = np.searchsorted(spaces, mark)
    before_id = np.append(-1, spaces)[around]
    data_end = np.minimum(np.append(spaces, size)[around], ends)

    def at(pos: np.ndarray) -> np.ndarray:
        return chars[np.clip(pos, 0, size - 1)]

    ok = (
        (chars[starts] == ord("("))
        & (close < ends)
        & (at(close + 1) == ord(" "))
        & (mark < ends)
        # an interface name between the spaces after ")" and the space before the id
        & (before_id > close + 1)
        & (at(before_id - 1) != ord(" "))
        & (
            (data_end == ends)
            | ((ends - data_end == 2) & np.isin(at(data_end + 1), np.frombuffer(b"RT", np.uint8)))
        )
    )
    if garbled is not None:
        ok[np.searchsorted(starts, garbled, side="right") - 1] = False
    good, bad = np.flatnonzero(ok), np.flatnonzero(~ok)
    bad_lines = tuple(
        ((i + 1), text[starts[i] : ends[i]].decode("utf-8", "replace")) for i in bad.tolist()
    )
    buffer = pa.py_buffer(text)
    if not _same_bytes(chars, close[good] + 2, before_id[good]):
        names = pc.utf8_ltrim(_fields(buffer, close[good] + 2, before_id[good]), " ")
        if (interfaces := pc.count_distinct(names).as_py()) > 1:
            log.warning("%s: frames of %d interfaces form one capture", file, interfaces)
    table = pa.table(
        {
            "timestamp": _empty_to_null(_fields(buffer, starts[good] + 1, close[good])),
            "arbitration_id": _empty_to_null(_fields(buffer, before_id[good] + 1, mark[good])),
            "data_field": _fields(buffer, mark[good] + 1, data_end[good]),
            "attack": pa.repeat(pa.scalar("0", pa.large_string()), len(good)),
        }
    )
    return RawCapture(
        relpath=relpath,
        file=file,
        table=table,
        bad_lines=bad_lines,
        rows_in=len(starts),
        sha256=sha256,
        text=original,
        header_lines=0,
    )


def _channel_name(channel: object) -> str:
    """python-can's channel (an index from 0, a name or None) as a candump interface name."""
    if channel is None:
        return "can"
    name = f"can{channel}" if isinstance(channel, int) else str(channel)
    return "_".join(name.split()) or "can"


def candump_line(msg: can.Message) -> str:
    """The line `candump -l` logs for a python-can message (with its line end).

    Remote, CAN FD, error frames and a DLC that disagrees with the payload keep candump's
    notation, which validation then rejects with a reason (see the module docstring).
    """
    can_id = msg.arbitration_id | (CAN_ERR_FLAG if msg.is_error_frame else 0)
    id_text = f"{can_id:08X}" if msg.is_extended_id or msg.is_error_frame else f"{can_id:03X}"
    payload = bytes(msg.data or b"").hex().upper()
    if msg.is_remote_frame:
        data = "R" + (f"{msg.dlc:X}" if 0 < msg.dlc <= PAYLOAD_BYTES else "")
    elif msg.is_fd:
        flags = (1 if msg.bitrate_switch else 0) | (2 if msg.error_state_indicator else 0)
        data = f"#{flags:X}{payload}"
    else:
        data = payload if msg.dlc == len(msg.data or b"") else f"{payload}_{msg.dlc:X}"
    return f"({msg.timestamp:.6f}) {_channel_name(msg.channel)} {id_text}#{data}\n"


def read_python_can_log(data: bytes, file: str, relpath: str) -> RawCapture:
    """Read a Vector ASC or BLF log with python-can: each message becomes its candump line.

    python-can yields one `can.Message` at a time, so this is a Python loop per message (about
    10^5 messages/s), unlike the vectorised candump and CSV readers. A log python-can cannot read
    stops with `CaptureError`; lines python-can does not recognise as frames (comments, events,
    statistics) are skipped by python-can itself.
    """
    kind = "ASC" if file.endswith(".asc") else "BLF"
    lines: list[str] = []
    try:
        if kind == "ASC":
            reader = can.ASCReader(io.StringIO(data.decode("utf-8", "replace")))
        else:
            reader = can.BLFReader(io.BytesIO(data))
        for msg in reader:
            lines.append(candump_line(msg))
    except Exception as exc:  # python-can raises ValueError, struct/zlib errors, BLFParseError...
        where = f" at message {len(lines) + 1}" if lines else ""
        raise CaptureError(f"{file}: unreadable {kind} log{where} ({exc})") from exc
    if not lines:
        raise CaptureError(f"{file}: empty file (no CAN frames)")
    capture = parse_candump("".join(lines).encode(), file, relpath)
    return replace(capture, sha256=hashlib.sha256(data).hexdigest())


def _python_can_fields(
    arbitration_id: str | None, remote: str | None, error: str | None, dlc: str | None, data: str
) -> tuple[str | None, str]:
    """One python-can CSV row's id and payload as hex text, as python-can's CSVReader reads them.

    A row python-can would mis-read is made invalid, never guessed: a remote or error frame, a
    payload that is not base64, or a DLC that disagrees with the payload keeps a non-hex marker
    (candump's notation, or `base64:<text>`) so validation rejects it with a reason.
    """
    id_text = arbitration_id
    if id_text is not None and id_text[:2] in ("0x", "0X"):
        id_text = id_text[2:]
    if error == "1" and id_text:
        with contextlib.suppress(ValueError):  # not hex: rejected as it is
            id_text = f"{int(id_text, 16) | CAN_ERR_FLAG:08X}"
    if remote == "1":
        return id_text, "R" + (dlc if dlc not in (None, "0") else "")
    try:
        payload = b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return id_text, f"base64:{data}"
    hex_text = payload.hex().upper()
    return id_text, hex_text if dlc == str(len(payload)) else f"{hex_text}_{dlc or ''}"


def python_can_csv(table: pa.Table, capture: RawCapture) -> RawCapture:
    """A python-can CSV's string columns (`PYTHON_CAN_CSV_COLUMNS`) as the raw columns.

    `capture` is the CSV read as text (its table is replaced). Base64 is decoded in a Python loop
    per row, like python-can's own reader.
    """
    columns = {c: table.column(c).to_pylist() for c in PYTHON_CAN_CSV_COLUMNS}
    ids, payloads = [], []
    for can_id, remote, error, dlc, data in zip(
        columns["arbitration_id"],
        columns["remote"],
        columns["error"],
        columns["dlc"],
        columns["data"],
        strict=True,
    ):
        id_text, payload = _python_can_fields(can_id, remote, error, dlc, data or "")
        ids.append(id_text)
        payloads.append(payload)
    raw = pa.table(
        {
            "timestamp": table.column("timestamp"),
            "arbitration_id": pa.array(ids, pa.large_string()),
            "data_field": pa.array(payloads, pa.large_string()),
            "attack": pa.repeat(pa.scalar("0", pa.large_string()), table.num_rows),
        }
    )
    return replace(capture, table=raw)


# --- writers -------------------------------------------------------------------------------------


def _digits(values: np.ndarray, width: int, base: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative integers in `base`, zero-padded on the left."""
    out = np.empty((len(values), width), np.uint8)
    rest = values.copy()
    for i in range(width - 1, -1, -1):  # a loop over digit places; one scalar divisor each
        rest, digit = np.divmod(rest, base)
        out[:, i] = _HEX_DIGITS[digit]
    return out


def candump_text(frames: pd.DataFrame, channel: str = "can0") -> bytes:
    """A typed frames table (`timestamp`, `can_id`, `dlc`, `byte_0`..`byte_7`) as candump -l text.

    Vectorised: every line is laid out in one fixed-width byte matrix and the unused cells (id
    digits of an 11-bit id, payload past the DLC) are masked out. Timestamps are rounded to the
    microsecond; ids above 0x7FF are written with 8 digits (29-bit), the others with 3.
    """
    if not re.fullmatch(r"[^\s#()]+", channel):
        raise ValueError(f"channel {channel!r}: not a candump interface name")
    n = len(frames)
    micros = np.round(frames["timestamp"].to_numpy(np.float64) * 1e6)
    can_id = frames["can_id"].to_numpy(np.int64)
    dlc = frames["dlc"].to_numpy(np.int64)
    if n and not (
        (micros >= 0).all()
        and (micros < 1e16).all()
        and ((can_id >= 0) & (can_id < (1 << 29))).all()
        and ((dlc >= 0) & (dlc <= PAYLOAD_BYTES)).all()
    ):
        raise ValueError("frames need timestamps in [0, 1e10) s, 29-bit ids and DLC 0-8")
    seconds, fraction = np.divmod(micros.astype(np.int64), 1_000_000)
    payload = frames[BYTE_COLUMNS].to_numpy(np.uint8)
    data = np.empty((n, 2 * PAYLOAD_BYTES), np.uint8)
    data[:, 0::2], data[:, 1::2] = _HEX_DIGITS[payload >> 4], _HEX_DIGITS[payload & 15]

    def const(text: str) -> np.ndarray:
        return np.broadcast_to(np.frombuffer(text.encode(), np.uint8), (n, len(text)))

    parts = [
        const("("),
        _digits(seconds, 10, 10),
        const("."),
        _digits(fraction, 6, 10),
        const(f") {channel} "),
        _digits(can_id, 8, 16),
        const("#"),
        data,
        const("\n"),
    ]
    matrix = np.concatenate(parts, axis=1)
    keep = np.ones(matrix.shape, bool)
    id_start = 1 + 10 + 1 + 6 + len(f") {channel} ")
    keep[:, id_start : id_start + 5] = (can_id > MAX_STANDARD_ID)[:, None]
    data_start = id_start + 8 + 1
    keep[:, data_start : data_start + 2 * PAYLOAD_BYTES] = (
        np.arange(2 * PAYLOAD_BYTES) < 2 * dlc[:, None]
    )
    return matrix[keep].tobytes()


def write_candump(frames: pd.DataFrame, path: str | Path, channel: str = "can0") -> Path:
    """Write a typed frames table as a candump -l log (gzip-compressed when `path` ends in .gz),
    creating its folder."""
    path = Path(path)
    text = candump_text(frames, channel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(igzip.compress(text) if path.name.endswith(".gz") else text)
    return path


def messages(frames: pd.DataFrame, channel: int = 0) -> list[can.Message]:
    """A typed frames table as python-can messages (ids above 0x7FF are extended)."""
    payload = frames[BYTE_COLUMNS].to_numpy(np.uint8)
    return [
        can.Message(
            timestamp=float(ts),
            arbitration_id=int(can_id),
            is_extended_id=bool(can_id > MAX_STANDARD_ID),
            dlc=int(dlc),
            data=payload[i, :dlc].tobytes(),
            channel=channel,
        )
        for i, (ts, can_id, dlc) in enumerate(
            zip(frames["timestamp"], frames["can_id"], frames["dlc"], strict=True)
        )
    ]


def write_asc(frames: pd.DataFrame, path: str | Path, channel: int = 0) -> Path:
    """Write a typed frames table as a Vector ASC log with python-can's `can.ASCWriter`.

    A Python loop per message. python-can numbers channels from 0 and ASC from 1.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with can.ASCWriter(str(path)) as writer:
        for msg in messages(frames, channel):
            writer.on_message_received(msg)
    return path
