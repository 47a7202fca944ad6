"""Training and inference speed of every model kind × scale, on CPU.

    python benchmarks/bench_training.py [--store-dir data/05_model_input/set_01] [--repeats 3]
                                        [--threads N] [--clock wall|cpu]
                                        [--imbalance gat_student,gat_teacher [--epochs N]]

Models are built from conf/base/parameters_training.yml (`model_scales`, jobs). Data: the
graph stores in `--store-dir` when present (graphs_train.npz / graphs_val.npz), else synthetic
windows shaped like real ones (30 nodes, 63 edges on average; vocabulary 53).

- train s/epoch, graphs/s: one pass of the training DataModule's loader (VGAE: normal windows
  only; batch `training.batch_size`; batching included): forward, loss, backward, gradient
  clipping, AdamW step; plain torch, without Lightning's per-epoch validation.
- inference windows/s: eval mode, no grad, batches of 256 built beforehand (GAT: logits;
  VGAE: anomaly score).
- ms/window at batch 1: the first 200 windows one by one.
Each figure is the best (minimum) of `--repeats`, timed by `--clock`: `wall` (default), or this
process's CPU time: with `--threads 1`, CPU time is what one quiet core takes, and it stays
right while other processes compete for the machine; wall time does not.
`--imbalance NAMES` also trains those GAT detectors with each `training.imbalance` choice through
the training entry point (`--epochs` overrides `training.max_epochs`) and reports the best
validation F1,
the epoch it was reached, the wall time, and F1 (p ≥ 0.5) / AUROC on each test store found in
`<store-dir>/graphs_test/`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from kedro.config import OmegaConfigLoader

from kd_gat import roster
from kd_gat.models import build_model, count_parameters
from kd_gat.params.training import resolve_job
from kd_gat.training.datamodule import GraphDataModule, data_sizes, graph_loader
from kd_gat.training.fit import train_detector
from kd_gat.training.losses import task_loss

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the synthetic windows are a test helper, not part of the package
from tests.synthetic import synthetic_windows  # noqa: E402


def load_stores(store_dir: Path):
    train, val = store_dir / "graphs_train.npz", store_dir / "graphs_val.npz"
    if train.exists() and val.exists():
        from kd_gat.graphs.store import GraphStore

        return GraphStore.load(train), GraphStore.load(val), f"graph stores in {store_dir}"
    kw = {"num_ids": 53, "node_dim": 15, "edge_dim": 4, "nodes": (19, 42), "attack_rate": 0.4}
    return (
        synthetic_windows(800, seed=0, **kw),
        synthetic_windows(200, seed=1, **kw),
        "synthetic windows (no graph store found)",
    )


CLOCK = time.perf_counter  # or time.process_time (--clock cpu)


def best_time(fn, repeats: int) -> float:
    """Minimum seconds of `fn()` over `repeats` calls, on `CLOCK`."""
    times = []
    for _ in range(repeats):
        start = CLOCK()
        fn()
        times.append(CLOCK() - start)
    return min(times)


def train_epoch_seconds(spec, train, repeats: int) -> tuple[float, int]:
    torch.manual_seed(0)
    model = build_model(spec.kind, spec.model.model_dump(), **data_sizes(train))
    data = GraphDataModule(
        train,
        train,
        batch_size=spec.training.batch_size,
        normal_only=spec.kind == "vgae",
        seed=0,
    )
    loss_fn = task_loss(spec.kind, data.train_labels, spec.training.imbalance, spec.training.vgae)
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.training.lr)
    loader = data.train_dataloader()
    model.train()

    def epoch():
        for batch in loader:
            loss = loss_fn(model(batch), batch).loss
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec.training.gradient_clip_val)
            optimizer.step()

    epoch()  # warm-up
    return best_time(epoch, repeats), len(data.train_indices)


@torch.inference_mode()
def inference_speed(model, store, repeats: int) -> tuple[float, float]:
    model.eval()
    score = model if model.kind == "gat" else model.anomaly_score
    batches = list(graph_loader(store, batch_size=256))
    singles = list(graph_loader(store, range(min(200, len(store))), batch_size=1))
    score(batches[0])  # warm-up

    def batched():
        for b in batches:
            score(b)

    def one_by_one():
        for b in singles:
            score(b)

    windows_per_s = len(store) / best_time(batched, repeats)
    ms_per_window = 1000 * best_time(one_by_one, repeats) / len(singles)
    return windows_per_s, ms_per_window


def test_stores(store_dir: Path) -> dict:
    from kd_gat.graphs.store import GraphStore

    return {p.stem: GraphStore.load(p) for p in sorted((store_dir / "graphs_test").glob("*.npz"))}


@torch.inference_mode()
def test_scores(model, store) -> str:
    """F1 at p ≥ 0.5 and AUROC of a GAT on one test store."""
    from sklearn.metrics import f1_score, roc_auc_score

    model.eval()
    p = torch.cat([model.attack_probability(model(b)) for b in graph_loader(store, batch_size=256)])
    y = store.y
    auroc = roc_auc_score(y, p.numpy()) if 0 < y.sum() < len(y) else float("nan")
    return f"{f1_score(y, p.numpy() >= 0.5):.4f} | {auroc:.4f}"


def imbalance_study(params, train, val, tests, jobs: list[str], epochs: int | None) -> None:
    test_cols = "".join(f" {name} F1 | {name} AUROC |" for name in tests)
    header = "| model | imbalance | best val F1 | val AUROC there | at epoch | epochs run | s |"
    print(f"\n{header}{test_cols}")
    print("|---|---|---:|---:|---:|---:|---:|" + "---:|---:|" * len(tests))
    trainer = {**params["trainer"], "enable_progress_bar": False, "enable_model_summary": False}
    for job in jobs:
        (detector,) = [d for d in roster.trained() if d.name == job]
        for choice in ("class_weights", "sampler", "none"):
            with tempfile.TemporaryDirectory() as tmp:
                training = {**params["training"], "imbalance": choice, "checkpoint_root": tmp}
                if epochs:
                    training["max_epochs"] = epochs
                start = time.perf_counter()
                model, history = train_detector(
                    train, val, training, trainer, params["model_scales"], detector=detector
                )
                seconds = time.perf_counter() - start
            best = int(history["val_f1"].idxmax())
            scores = "".join(f" {test_scores(model, store)} |" for store in tests.values())
            print(
                f"| {job} | {choice} | {history['val_f1'].max():.4f} "
                f"| {history['val_auroc'].iloc[best]:.4f} | {best} "
                f"| {len(history)} | {seconds:.0f} |{scores}",
                flush=True,
            )


def speed_table(params, train, val, repeats: int) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f}\n")
    print(
        "| model | kind | scale | parameters | train windows | s/epoch | train graphs/s "
        "| infer windows/s (batch 256) | ms/window (batch 1) |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for detector in roster.trained():
        job = detector.name
        spec = resolve_job(detector, params["training"], params["trainer"], params["model_scales"])
        seconds, n_train = train_epoch_seconds(spec, train, repeats)
        torch.manual_seed(0)
        model = build_model(spec.kind, spec.model.model_dump(), **data_sizes(train))
        windows_per_s, ms = inference_speed(model, val, repeats)
        print(
            f"| {job} | {spec.kind} | {detector.scale} | {count_parameters(model):,} "
            f"| {n_train} | {seconds:.2f} | {n_train / seconds:.0f} | {windows_per_s:.0f} "
            f"| {ms:.2f} |"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-dir", type=Path, default=ROOT / "data/05_model_input/set_01")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--imbalance", type=lambda s: s.split(","), default=[])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    params = OmegaConfigLoader(str(ROOT / "conf"), base_env="base", default_run_env="base")[
        "parameters"
    ]
    train, val, source = load_stores(args.store_dir)
    print(f"data: {source}; train {len(train)} windows, val {len(val)}")
    print(f"torch {torch.__version__}, {args.threads} threads of {os.cpu_count()} CPUs")
    print(f"clock: {args.clock}")
    if not args.skip_speed:
        speed_table(params, train, val, args.repeats)
    if args.imbalance:
        tests = test_stores(args.store_dir)
        imbalance_study(params, train, val, tests, args.imbalance, args.epochs)


if __name__ == "__main__":
    main()
