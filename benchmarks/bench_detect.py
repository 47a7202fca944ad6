"""Streaming detection throughput on one core: a real capture replayed as a candump log through
`python -m kd_gat.detect`'s code path (parse, validate, reorder, graphs window by window, ONNX,
decisions, one output line per window).

    taskset -c 0 python benchmarks/bench_detect.py [BUNDLE_FOLDER [CAPTURE [REPEATS]]]

Defaults: the bundle of `kedro run --pipelines export` on set_01 and the shared set_01
test_01 DoS-3 capture (154,255 frames). The capture is converted to candump first (not timed);
the run writes its lines to an in-memory buffer. Prints frames/s per repeat (median and
range), windows, alerts, the peak resident memory of the process (no torch is imported), and
how many saturated 1 Mbit/s buses that rate covers (8,000 frames/s each: 8-byte data frames of
111–135 bits with stuffing).
"""

from __future__ import annotations

import io
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = ROOT / "data/06_models/set_01/export"
DEFAULT_CAPTURE = (
    ROOT.parent
    / "shared/data/can-train-and-test/set_01/test_01_known_vehicle_known_attack/DoS-3.csv.gz"
)
BUS_FRAMES_PER_S = 8_000


def main() -> None:
    bundle = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_BUNDLE
    capture = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_CAPTURE
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3

    from kd_gat import detect
    from kd_gat.ingestion.captures import describe_unlabelled
    from kd_gat.ingestion.logs import write_candump
    from kd_gat.ingestion.read import read_capture
    from kd_gat.ingestion.validate import parse_capture

    frames, _, _ = parse_capture(
        read_capture(capture, capture.name, labelled=False), describe_unlabelled(capture.name)
    )
    with tempfile.TemporaryDirectory() as tmp:
        log = write_candump(frames, Path(tmp) / "capture.log")
        rates = []
        for _ in range(repeats):
            out, err = io.StringIO(), io.StringIO()
            t = time.perf_counter()
            counts = detect.run(str(log), bundle, out, err)
            rates.append(counts.frames / (time.perf_counter() - t))
    assert "torch" not in sys.modules
    rates = np.array(rates)
    print(
        f"{capture.name}: {counts.frames} frames, {counts.windows} windows, {counts.alerts} alerts"
    )
    print(
        f"frames/s: {np.median(rates):,.0f} (range {rates.min():,.0f}–{rates.max():,.0f}) over "
        f"{repeats} runs = {np.median(rates) / BUS_FRAMES_PER_S:.1f} saturated 1 Mbit/s buses"
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
