"""The exported detector on one CPU core: size, latency per window (batch 1 and batched), memory.

    taskset -c 0 python benchmarks/bench_export.py [BUNDLE_FOLDER [GRAPH_STORE [REPEATS]]]

Defaults: the bundle of `kedro run --pipelines export` on set_01
(`data/06_models/set_01/export`) and that run's validation windows
(`data/05_model_input/set_01/graphs_val.npz`). onnxruntime with one intra-op thread against
PyTorch with one thread, on the same standardised windows. Batch 1 times each of the first 256
windows alone (a car scores one window as it completes), `REPEATS` times; batched times every
window in batches of 64 and 512. Latency is ms per window: median and 10th–90th percentile over
calls (batch 1) or over repeats (batched). Memory: the process's resident set before and after
loading the bundle, and its peak.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = ROOT / "data/06_models/set_01/export"
DEFAULT_STORE = ROOT / "data/05_model_input/set_01/graphs_val.npz"


def rss_mb() -> float:
    """Resident set size now (MB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def spread(ms: np.ndarray) -> str:
    p10, p50, p90 = np.percentile(ms, [10, 50, 90])
    return f"{p50:.3f} ms ({p10:.3f}–{p90:.3f})"


def main() -> None:
    bundle_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_BUNDLE
    store_file = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_STORE
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5

    before = rss_mb()
    from kd_gat.bundle import ExportedDetector

    detector = ExportedDetector(bundle_dir, threads=1)
    loaded = rss_mb()
    size = {p.name: p.stat().st_size for p in sorted(bundle_dir.iterdir())}
    print(f"bundle {bundle_dir}: detector {detector.name}")
    for name, n in size.items():
        print(f"  {name}: {n / 1024:.1f} KB")
    print(f"  total {sum(size.values()) / 1024:.1f} KB")
    print(f"RSS {before:.0f} MB before import, {loaded:.0f} MB with the bundle loaded")

    import torch

    from kd_gat.datasets.torch_model import DeployedModelsDataset
    from kd_gat.graphs.store import GraphStore

    torch.set_num_threads(1)
    store = GraphStore.load(store_file)
    n = len(store)
    nodes = np.diff(store.node_ptr)
    print(f"windows: {n} from {store_file} ({nodes.mean():.1f} nodes per window on average)")

    sessions = detector.sessions
    single = [store.select([i]) for i in range(min(256, n))]
    feeds = [detector.inputs(w, standardised=True) for w in single]
    for name, session in sessions.items():
        times = []
        for _ in range(repeats):
            for feed in feeds:  # one call per window, as in a car
                t = time.perf_counter()
                session.run(None, feed)
                times.append(time.perf_counter() - t)
        print(f"{name} onnxruntime batch 1: {spread(np.array(times) * 1e3)} per window")
        for size_b in (64, 512):
            batches = [
                detector.inputs(store.select(np.arange(a, min(a + size_b, n))), standardised=True)
                for a in range(0, n, size_b)
            ]
            per_window = []
            for _ in range(repeats):
                t = time.perf_counter()
                for feed in batches:
                    session.run(None, feed)
                per_window.append((time.perf_counter() - t) / n)
            print(f"{name} onnxruntime batch {size_b}: {spread(np.array(per_window) * 1e3)}")
    # the same windows through PyTorch (the model files the bundle was exported from)
    models = DeployedModelsDataset(str(bundle_dir.parent), detector.name).load()
    for name, model in models.items():
        model.eval()
        with torch.inference_mode():
            times = []
            for _ in range(repeats):
                for i in range(len(single)):
                    batch = store.batch([i])
                    t = time.perf_counter()
                    model.detect(batch)
                    times.append(time.perf_counter() - t)
            print(f"{name} PyTorch batch 1: {spread(np.array(times) * 1e3)} per window")
            per_window = []
            for _ in range(repeats):
                t = time.perf_counter()
                for a in range(0, n, 512):
                    model.detect(store.batch(np.arange(a, min(a + 512, n))))
                per_window.append((time.perf_counter() - t) / n)
            print(f"{name} PyTorch batch 512: {spread(np.array(per_window) * 1e3)}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
