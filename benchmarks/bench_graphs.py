"""Graphs throughput and peak memory: frames Parquet → graph stores written (node functions).

    taskset -c 0 python benchmarks/bench_graphs.py [FRAMES_PARQUET [REPEATS]]

Phases: read (Parquet → pandas), vocabulary, build (windows, graphs, splits), normalise (fit on
train, apply to all), write (.npz stores to a temporary folder). frames/s is over the rows of the
table; the median run by total CPU time is shown, and the first run (cold memory) apart.
"""

from __future__ import annotations

import resource
import sys
import tempfile
from pathlib import Path

import pandas as pd
from phases import Phases

from kd_gat.datasets.graph_store import GraphStoreDataset, GraphStoreMapDataset
from kd_gat.params.graphs import GraphsParams
from kd_gat.pipelines.graphs import nodes

DEFAULT = Path(__file__).resolve().parents[1] / "data/02_intermediate/set_01/frames.parquet"
PARAMS = GraphsParams().model_dump()  # the defaults of `kedro run`


def run(path: Path) -> tuple[dict[str, float], dict[str, float], int, int]:
    """One pass: per-phase wall and CPU seconds, frames, windows."""
    phases = Phases()
    timed = phases.time
    frames = timed("read", pd.read_parquet, path)
    vocabulary = timed("vocabulary", nodes.learn_vocabulary, frames, path.parent.name)
    train, val, test, summary = timed("build", nodes.build_graph_stores, frames, vocabulary, PARAMS)
    stats = timed("normalise", nodes.fit_graph_feature_stats, train, vocabulary, PARAMS)
    train, val, test = timed("normalise", nodes.normalise_graph_stores, train, val, test, stats)

    with tempfile.TemporaryDirectory() as tmp:

        def write() -> None:
            GraphStoreDataset(f"{tmp}/graphs_train.npz").save(train)
            GraphStoreDataset(f"{tmp}/graphs_val.npz").save(val)
            GraphStoreMapDataset(f"{tmp}/graphs_test").save(test)

        timed("write", write)
    return phases.wall, phases.cpu, len(frames), summary["windows"]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    baseline_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # imports only
    runs = [run(path) for _ in range(repeats)]
    frames, windows = runs[0][2:]
    runs_in_order = list(runs)
    first_cpu = sum(runs[0][1].values())  # the first run also pays for fresh memory pages
    runs.sort(key=lambda r: sum(r[1].values()))  # robust to other processes on a shared core
    wall, cpu = runs[len(runs) // 2][:2]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"frames: {path.resolve()}  (median of {repeats} runs)")
    print(f"frames: {frames:,}  windows: {windows:,}")
    print(
        f"{'phase':>14} {'wall s':>7} {'cpu s':>7} {'frames/s (cpu)':>15} {'first run cpu s':>16}"
    )
    for phase in wall:
        print(
            f"{phase:>14} {wall[phase]:7.3f} {cpu[phase]:7.3f} {frames / cpu[phase]:>15,.0f}"
            f" {runs_in_order[0][1][phase]:>16.3f}"
        )
    w, c = sum(wall.values()), sum(cpu.values())
    print(f"{'total':>14} {w:7.3f} {c:7.3f} {frames / c:>15,.0f}")
    print(f"{'total (wall)':>14} {'':7} {'':7} {frames / w:>15,.0f}")
    print(f"{'first run':>14} {'':7} {first_cpu:7.3f} {frames / first_cpu:>15,.0f}")
    print(f"peak RSS: {peak_mib:,.0f} MiB ({baseline_mib:,.0f} MiB before reading: imports)")


if __name__ == "__main__":
    main()
