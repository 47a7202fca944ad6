"""Ingestion throughput and peak memory over a whole dataset folder (default: shared set_01).

    taskset -c 0 python benchmarks/bench_ingestion.py [FOLDER [REPEATS]]

Phases: read (decompress + hash + CSV split into strings), ingest (Pandera raw validation of every
row, vectorised decoding, rejects, report), validate (the typed `Frames` schema the catalog applies
on save) and write (Parquet). rows/s is over the rows of the files.
"""

from __future__ import annotations

import resource
import sys
import tempfile
from pathlib import Path

from phases import Phases

from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.ingestion.schemas import Frames
from kd_gat.pipelines.ingestion.nodes import ingest_captures

DEFAULT = Path(__file__).resolve().parents[1] / "../shared/data/can-train-and-test/set_01"
PARAMS = {"on_invalid": "quarantine", "attack_kinds": {"accessory": "none", "dos": "DoS"}}


def run(folder: Path) -> tuple[dict[str, float], dict[str, float], int, int, int]:
    """One pass over the folder: per-phase wall and CPU seconds, rows in, valid, rejected."""
    phases = Phases()
    timed = phases.time
    captures = timed("read", lambda: CaptureFolderDataset(str(folder)).load())
    frames, rejects, report = timed("ingest", ingest_captures, captures, PARAMS)
    timed("validate", Frames.validate, frames)
    with tempfile.TemporaryDirectory() as tmp:
        timed("write", frames.to_parquet, Path(tmp) / "frames.parquet")
    return phases.wall, phases.cpu, report["totals"]["rows_in"], len(frames), len(rejects)


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    runs = [run(folder) for _ in range(repeats)]
    rows, valid, rejected = runs[0][2:]
    # the median run by read+ingest CPU time: robust to other processes on a shared core
    runs.sort(key=lambda r: r[1]["read"] + r[1]["ingest"])
    wall, cpu = runs[len(runs) // 2][:2]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"folder: {folder.resolve()}  (median of {repeats} runs)")
    print(f"rows: {rows:,}  valid: {valid:,}  rejected: {rejected:,}")
    print(f"{'phase':>14} {'wall s':>7} {'cpu s':>7} {'rows/s (cpu)':>14}")
    for phase in wall:
        print(f"{phase:>14} {wall[phase]:7.2f} {cpu[phase]:7.2f} {rows / cpu[phase]:>14,.0f}")
    for label, phases in (("read+ingest", ["read", "ingest"]), ("total", list(wall))):
        w, c = sum(wall[p] for p in phases), sum(cpu[p] for p in phases)
        print(f"{label:>14} {w:7.2f} {c:7.2f} {rows / c:>14,.0f}")
    print(f"peak RSS: {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
