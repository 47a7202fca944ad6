"""Streaming detection: frames in bus order → one line per window as soon as it completes.

    python -m kd_gat.detect [--bundle FOLDER] [--alerts-only] [--json] FILE|-

`FILE` is a capture in any format ingestion reads (this dataset's CSV, `candump -l` logs,
python-can's CSV, Vector ASC/BLF; `.gz` too); `-` reads a `candump -l` log from standard input
(`candump -L can0 | python -m kd_gat.detect -`). The bundle is the export pipeline's folder
(`kd_gat.bundle`; default `data/06_models/set_01/export`). No torch, PyG or Kedro is loaded: the
frames are validated as ingestion validates them, built into graphs window by window by
`kd_gat.graphs.stream.GraphStream` (the batch builder's graphs, with bounded memory), scored by
the ONNX models and decided by the bundle's rule — the decisions batch inference takes.

Each window prints: its end time, ordinal, score, threshold, decision (ALERT / ok), the profile
and whether the threshold is the profile's (calibrated) or zero-shot, and the IDs it implicates,
highest node score first. Rejected rows go to standard error with their row and reason; a
summary (frames, rejects, windows, alerts, frames/s) ends the run there.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from kd_gat.bundle import ExportedDetector, Persistence
from kd_gat.graphs.stream import FrameBlock, GraphStream, StreamOutput
from kd_gat.ingestion.captures import describe_unlabelled
from kd_gat.ingestion.logs import parse_candump
from kd_gat.ingestion.read import read_capture
from kd_gat.ingestion.validate import parse_capture

DEFAULT_BUNDLE = Path("data/06_models/set_01/export")
CHUNK_BYTES = 1 << 20  # candump text read per step: ~25,000 frames
BLOCK_FRAMES = 4096  # frames fed to the graph stream per step, for whole-file formats


class Reorder:
    """Frames released in time order, as batch ingestion orders a capture (a stable sort by
    timestamp): loggers merging channels write frames up to a fraction of a millisecond out of
    order, so frames within `hold_s` of the latest timestamp wait for the next block. A frame
    older than one already released cannot be placed: it is returned as rejected."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self.pending = None
        self.released_until = -np.inf

    def push(self, frames: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The frames that are ready (in time order) and those too late to place."""
        late = frames["timestamp"].to_numpy() < self.released_until
        too_late = frames[late]
        if self.pending is not None:
            frames = pd.concat([self.pending, frames[~late]], ignore_index=True)
        else:
            frames = frames[~late]
        order = np.argsort(frames["timestamp"].to_numpy(), kind="stable")
        frames = frames.iloc[order].reset_index(drop=True)
        ts = frames["timestamp"].to_numpy()
        cut = int(np.searchsorted(ts, ts[-1] - self.hold_s)) if len(ts) else 0
        self.pending = frames.iloc[cut:]
        ready = frames.iloc[:cut]
        if len(ready):
            self.released_until = float(ts[cut - 1])
        return ready, too_late

    def flush(self) -> pd.DataFrame | None:
        """The frames still held (at the end of the capture)."""
        rest, self.pending = self.pending, None
        return rest


@dataclass
class Counts:
    frames: int = 0
    rejected: int = 0
    windows: int = 0
    alerts: int = 0
    started: float = field(default_factory=time.perf_counter)


def _candump_chunks(stream: IO[bytes]) -> Iterator[tuple[bytes, int]]:
    """Whole lines of a candump log, about `CHUNK_BYTES` at a time, with the number of lines
    before each chunk."""
    carry, lines_before = b"", 0
    while chunk := stream.read(CHUNK_BYTES):
        text = carry + chunk
        cut = text.rfind(b"\n") + 1
        text, carry = text[:cut], text[cut:]
        if text:
            yield text, lines_before
            lines_before += text.count(b"\n")
    if carry.strip():
        yield carry + b"\n", lines_before


def frame_blocks(source: str) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Validated frames of a capture in bus order, block by block, with the rows of the block
    that were rejected (`row`: the row's number in the capture)."""
    name = "stdin.log" if source == "-" else Path(source).name
    info = describe_unlabelled(name)
    if source == "-" or name.endswith((".log", ".log.gz")):  # streamed, chunk by chunk
        if source == "-":
            handle = sys.stdin.buffer
        else:
            handle = gzip.open(source, "rb") if name.endswith(".gz") else open(source, "rb")  # noqa: SIM115
        with handle:
            for text, before in _candump_chunks(handle):
                frames, rejected, _ = parse_capture(parse_candump(text, source, name), info)
                yield (
                    frames.assign(row=frames["row"] + before),
                    rejected.assign(row=rejected["row"] + before),
                )
        return
    frames, rejected, _ = parse_capture(read_capture(Path(source), name, labelled=False), info)
    for start in range(0, max(len(frames), 1), BLOCK_FRAMES):  # replayed in bus order
        yield frames.iloc[start : start + BLOCK_FRAMES], rejected if start == 0 else rejected[:0]


def alert_lines(
    out: StreamOutput,
    detector: ExportedDetector,
    stream: GraphStream,
    top: int,
    history: Persistence | None = None,
) -> list[dict]:
    """One record per window of `out`, decided by the bundle's rule (`history`: the stream's
    last raw scores, for members that persist over windows in a row)."""
    if not len(out.windows):
        return []
    table = out.windows
    history = history if history is not None else Persistence()
    decisions = detector.decide(
        out.graphs,
        stream.profile,
        table["uses_profile"].to_numpy(),
        follows=history.follows(table.assign(capture="stream")),
        history=history,
        settled=table["end_time"].to_numpy(np.float64) >= stream.t0 + detector.warmup_s,
    )
    node_window = np.repeat(np.arange(len(table)), np.diff(out.graphs.node_ptr))
    on = np.flatnonzero(decisions.implicated)
    order = on[np.lexsort((-decisions.node_score[on], node_window[on]))]
    ids_of: dict[int, list[str]] = {}
    for i in order:  # implicated nodes of flagged windows only: a handful per alert
        ids_of.setdefault(int(node_window[i]), []).append(f"0x{int(out.node_can_id[i]):03X}")
    records = []
    for w, row in enumerate(table.itertuples(index=False)):  # one line per window, by design
        records.append(
            {
                "time": float(row.end_time),
                "window": int(row.ordinal),
                "start_time": float(row.start_time),
                "score": float(decisions.score[w]),
                # warming up (+inf): no threshold, no alarm
                "threshold": _finite_or_none(decisions.threshold[w]),
                "decision": int(decisions.decision[w]),
                "profile": stream.profile if row.uses_profile else None,
                "calibrated": bool(decisions.calibrated[w]),
                "ids": ids_of.get(w, [])[:top],
            }
        )
    return records


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def format_line(record: dict, as_json: bool) -> str:
    if as_json:
        return json.dumps(record)
    mark = "ALERT" if record["decision"] else "ok"
    point = f"profile {record['profile']}" if record["calibrated"] else "zero-shot"
    ids = " ".join(record["ids"])
    threshold = record["threshold"]
    judged = "warming up" if threshold is None else f"threshold {threshold:.4g}"
    return (
        f"{record['time']:.6f} window {record['window']} score {record['score']:.4g} "
        f"{judged} {mark} {point}" + (f" ids {ids}" if ids else "")
    )


def run(
    source: str,
    bundle: Path,
    out: IO[str],
    err: IO[str],
    alerts_only: bool = False,
    as_json: bool = False,
    top: int = 5,
    hold_s: float = 0.01,
) -> Counts:
    """Score one capture (`source`: a file, or `-` for a candump log on stdin)."""
    detector = ExportedDetector(bundle)
    manifest = detector.manifest
    g, matching = manifest["graphs"], manifest["profiles"]["matching"]
    stream = GraphStream(
        detector.vocabulary,
        g["window_size"],
        g["stride"],
        g["tail_policy"],
        tuple(g["node_features"]),
        g["max_tracked_ids"],
        g["known_after"],
        profiles=manifest["profiles"]["vehicles"],
        **matching,
    )
    counts = Counts()
    history = Persistence()

    def emit(result: StreamOutput) -> None:
        for record in alert_lines(result, detector, stream, top, history):
            counts.windows += 1
            counts.alerts += record["decision"]
            if record["decision"] or not alerts_only:
                print(format_line(record, as_json), file=out, flush=record["decision"] == 1)

    reorder = Reorder(hold_s)

    def feed(frames: pd.DataFrame) -> None:
        ready, late = reorder.push(frames)
        for r in late.itertuples():
            print(f"# rejected row {r.row}: more than {hold_s} s out of time order", file=err)
        counts.rejected += len(late)
        counts.frames += len(ready)
        emit(stream.feed(FrameBlock.from_frames(ready)))

    for frames, rejected in frame_blocks(source):
        for r in rejected.itertuples():
            print(f"# rejected row {r.row}, column {r.column}: {r.reason}", file=err)
        counts.rejected += len(rejected)
        feed(frames)
    rest = reorder.flush()
    if rest is not None and len(rest):
        counts.frames += len(rest)
        emit(stream.feed(FrameBlock.from_frames(rest)))
    emit(stream.finish())
    seconds = time.perf_counter() - counts.started
    print(
        f"# {detector.name}: {counts.frames} frames ({counts.rejected} rejected), "
        f"{counts.windows} windows, {counts.alerts} alerts, profile {stream.profile}, "
        f"{counts.frames / max(seconds, 1e-9):,.0f} frames/s",
        file=err,
    )
    return counts


def main(argv: list[str] | None = None) -> int:
    summary = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m kd_gat.detect", description=summary)
    parser.add_argument("source", help="capture file, or - for a candump -l log on stdin")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="export folder")
    parser.add_argument("--alerts-only", action="store_true", help="print flagged windows only")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--top", type=int, default=5, help="implicated IDs printed per window")
    parser.add_argument(
        "--hold-ms", type=float, default=10.0, help="wait for frames out of time order (ms)"
    )
    args = parser.parse_args(argv)
    run(
        args.source,
        args.bundle,
        sys.stdout,
        sys.stderr,
        args.alerts_only,
        args.json,
        args.top,
        args.hold_ms / 1e3,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
