"""Validation of raw captures: every row becomes a typed frame or a reject with a reason.

Captures with equal content are read once (`deduplicate`); each capture's rows are judged by the
Pandera contract `RawFrames` (vectorised), failures become rejects (file, row, column, reason,
value, exact line), and rows in = valid + rejected is checked per capture.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow as pa

from kd_gat.ingestion import frames as fr
from kd_gat.ingestion.captures import CaptureError, CaptureInfo, RawCapture
from kd_gat.ingestion.schemas import REASONS, RawFrames

log = logging.getLogger(__name__)

REJECT_COLUMNS = ["capture", "file", "row", "column", "reason", "value", "line"]
_FIELD_COUNT = "wrong number of fields"


class IngestionError(ValueError):
    """Rows were invalid and `on_invalid` is `fail`, or rows went missing."""


def deduplicate(captures: list[RawCapture]) -> tuple[list[RawCapture], dict[str, str]]:
    """Keep the first capture of each content hash; map each skipped path to the one kept."""
    kept: dict[str, RawCapture] = {}
    skipped: dict[str, str] = {}
    for capture in captures:
        first = kept.setdefault(capture.sha256, capture)
        if first is not capture:
            skipped[capture.relpath] = first.relpath
    return list(kept.values()), skipped


def _data_rows(n_parsed: int, skipped_rows: np.ndarray) -> np.ndarray:
    """1-based data row numbers of the rows the CSV reader kept, given the rows it skipped."""
    k = np.arange(1, n_parsed + 1)
    gaps = np.sort(skipped_rows) - np.arange(len(skipped_rows))
    return k + np.searchsorted(gaps, k, side="right")


def reject_table(capture: str, file: str, **cols: Any) -> pd.DataFrame:
    """Rejects in the `RejectedFrames` layout (string columns, int64 row), even when empty."""
    table = pd.DataFrame({"capture": capture, "file": file, **cols}, index=range(len(cols["rows"])))
    table = table.rename(
        columns={
            "rows": "row",
            "columns": "column",
            "reasons": "reason",
            "values": "value",
            "lines": "line",
        }
    )
    return (
        table[REJECT_COLUMNS]
        .astype({c: "str" for c in REJECT_COLUMNS if c != "row"})
        .astype({"row": np.int64})
    )


def _raw_failures(raw: pd.DataFrame, file: str) -> pd.DataFrame:
    """Per failing row: index, column and reason, from a lazy Pandera validation of `RawFrames`."""
    try:
        RawFrames.validate(raw, lazy=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
        whole = cases[cases["index"].isna()]
        if len(whole):
            problems = "; ".join(f"{r.column}: {r.check}" for r in whole.itertuples())
            raise CaptureError(f"{file}: {problems}") from err
        cases = cases.assign(
            index=cases["index"].astype(np.int64),
            order=cases["column"].map({c: i for i, c in enumerate(fr.RAW_COLUMNS)}),
            reason=cases["check"].astype(str).str.replace(r"\(.*\)$", "", regex=True).map(REASONS),
        )
        # One record per row: its first failing column.
        first = cases.sort_values(["index", "order"]).drop_duplicates("index")
        return first[["index", "column", "reason"]].reset_index(drop=True)
    return pd.DataFrame({"index": np.zeros(0, np.int64), "column": [], "reason": []})


def _typed_frames(table: pa.Table, rows: np.ndarray) -> pd.DataFrame:
    """Decode valid text columns into the typed frame columns (capture columns come later)."""
    payload, dlc, _ = fr.decode_payload(table.column("data_field"))
    typed = {
        "row": rows.astype(np.int64),
        "timestamp": fr.decode_timestamp(table.column("timestamp"))[0],
        "can_id": fr.decode_can_id(table.column("arbitration_id"))[0].astype(np.int32),
        "dlc": dlc,
        **{name: payload[:, i] for i, name in enumerate(fr.BYTE_COLUMNS)},
        "attack": fr.decode_label(table.column("attack"))[0],
    }
    return pd.DataFrame(typed)


def in_time_order(frames: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Frames of one capture in time order, and how many rows moved.

    Policy for timestamps that go back within a capture (loggers merging channels do this):
    the frames are sorted by timestamp, stably, so equal timestamps keep file order and every
    frame keeps its `row`; nothing is dropped. Windows then never end before they start and
    inter-arrival features are never negative.
    """
    ts = frames["timestamp"].to_numpy()
    if len(ts) < 2 or (np.diff(ts) >= 0).all():
        return frames, 0
    order = np.argsort(ts, kind="stable")
    return frames.iloc[order].reset_index(drop=True), int((order != np.arange(len(ts))).sum())


def parse_capture(capture: RawCapture, info: CaptureInfo) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Split one capture's rows into typed frames (in time order) and rejects; every row lands in
    one of them. Also returns how many frames were moved into time order."""
    table = capture.table
    rows = _data_rows(table.num_rows, np.array([r for r, _ in capture.bad_lines], np.int64))
    raw = table.to_pandas()
    failures = _raw_failures(raw, capture.file)
    bad = np.zeros(table.num_rows, bool)
    bad[failures["index"].to_numpy()] = True

    failing = failures["index"].to_numpy()
    values = raw.iloc[failing].to_numpy(dtype=object, na_value="")
    col_pos = failures["column"].map({c: i for i, c in enumerate(fr.RAW_COLUMNS)}).to_numpy()
    bad_rows = np.array([r for r, _ in capture.bad_lines], np.int64)
    bad_text = [text for _, text in capture.bad_lines]
    rejects = reject_table(
        info.capture,
        capture.file,
        rows=np.concatenate([rows[failing], bad_rows]),
        columns=[*failures["column"], *["*"] * len(bad_rows)],
        reasons=[*failures["reason"], *[_FIELD_COUNT] * len(bad_rows)],
        values=[*values[np.arange(len(failing)), col_pos], *bad_text],
        lines=[*(capture.lines(rows[failing]) if len(failing) else []), *bad_text],
    )
    keep = np.flatnonzero(~bad)
    kept = table.take(keep) if len(keep) < table.num_rows else table
    frames, moved = in_time_order(_typed_frames(kept, rows[keep]))
    return frames, rejects, moved


def _capture_stats(
    capture: RawCapture, info: CaptureInfo, frames: pd.DataFrame, rejects: pd.DataFrame
) -> dict[str, Any]:
    valid, rejected = len(frames), len(rejects)
    if valid + rejected != capture.rows_in:
        raise IngestionError(
            f"{capture.file}: {capture.rows_in} rows in but {valid} valid + {rejected} rejected"
        )
    attacks = int(frames["attack"].sum())
    return {
        "capture": info.capture,
        "file": capture.file,
        "split": info.split,
        "scenario": info.scenario,
        "attack_kind": info.attack_kind,
        "sha256": capture.sha256,
        "rows_in": capture.rows_in,
        "rows_valid": valid,
        "rows_rejected": rejected,
        "rejects_by_reason": {k: int(v) for k, v in rejects["reason"].value_counts().items()},
        "attack_frames": attacks,
        "attack_share": attacks / valid if valid else 0.0,
    }


def _unique_ids(
    described: list[tuple[CaptureInfo, RawCapture]],
) -> list[tuple[CaptureInfo, RawCapture]]:
    """Captures sorted by id (so frames come out sorted by capture, row); ids must be unique."""
    described = sorted(described, key=lambda pair: pair[0].capture)
    for (a, first), (b, second) in itertools.pairwise(described):
        if a.capture == b.capture:
            raise CaptureError(
                f"{first.file} and {second.file}: different content under one capture id "
                f"{a.capture!r}; rename one of them"
            )
    return described


def _fail_on_rejects(rejects: pd.DataFrame, limit: int = 10) -> None:
    shown = "\n".join(
        f"  {r.file}: row {r.row}, column {r.column}: {r.reason} ({r.value!r})"
        for r in rejects.head(limit).itertuples()
    )
    more = f"\n  ... and {len(rejects) - limit} more" if len(rejects) > limit else ""
    raise IngestionError(f"{len(rejects)} invalid rows (on_invalid=fail):\n{shown}{more}")


def _as_frames_table(parts: list[pd.DataFrame], infos: list[CaptureInfo]) -> pd.DataFrame:
    """Concatenate per-capture frames; capture columns become categoricals built from codes."""
    frames = pd.concat(parts, ignore_index=True)
    sizes = [len(part) for part in parts]
    for column in fr.CAPTURE_COLUMNS:
        labels = [getattr(info, column) for info in infos]
        categories = sorted(set(labels))
        codes = np.array([categories.index(label) for label in labels], np.int32)
        frames[column] = pd.Categorical.from_codes(np.repeat(codes, sizes), categories=categories)
    return frames[fr.FRAME_COLUMNS]


def validate_captures(
    described: list[tuple[CaptureInfo, RawCapture]],
    on_invalid: str,
    duplicates: dict[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Validate and decode every row of described captures: frames, rejects and the report."""
    described = _unique_ids(described)
    frame_parts, reject_parts, per_capture, infos = [], [], [], []
    for info, capture in described:  # a loop per capture file; row work inside is vectorised
        frames, rejects, moved = parse_capture(capture, info)
        per_capture.append(_capture_stats(capture, info, frames, rejects) | {"rows_moved": moved})
        if moved:
            log.warning(
                "%s: timestamps go back; %d rows moved into time order", info.capture, moved
            )
        frame_parts.append(frames)
        infos.append(info)
        reject_parts.append(rejects)
        log.info(
            "%s: %d rows, %d rejected",
            info.capture,
            capture.rows_in,
            per_capture[-1]["rows_rejected"],
        )
    rejects = pd.concat(reject_parts, ignore_index=True)
    if len(rejects) and on_invalid == "fail":
        _fail_on_rejects(rejects)
    frames = _as_frames_table(frame_parts, infos)
    rows_in = sum(c["rows_in"] for c in per_capture)
    report = {
        "captures": per_capture,
        "duplicates_skipped": [{"file": k, "same_content_as": v} for k, v in duplicates.items()],
        "totals": {
            "captures": len(per_capture),
            "rows_in": rows_in,
            "rows_valid": len(frames),
            "rows_rejected": len(rejects),
            "attack_frames": int(frames["attack"].sum()),
            "rejects_by_reason": {k: int(v) for k, v in rejects["reason"].value_counts().items()},
        },
        "on_invalid": on_invalid,
    }
    return frames, rejects, report
