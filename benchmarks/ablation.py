"""Ablation over configurations, directions and seeds, through `kedro run` itself.

    python benchmarks/ablation.py [--data ../shared/data] [--env ENV]
        [--directions set_01:B,set_02:C] [--configs NAME,...] [--seeds 42,43,44]
        [--detectors gat_student,vgae_student] [--out data/08_reporting/ablation]
    python benchmarks/ablation.py --summary [--out ...]

Each (direction, configuration, seed) is one whole `kedro run` in a fresh process, with the
roster cut to `--detectors` (`KD_GAT_DETECTORS`, `kd_gat.roster`): the same ingestion, graphs,
profiles, operating points and field metrics as every other table, only fewer models trained. A
direction `set_01:B` runs the shared `can-train-and-test/set_01` with the profiles of
`vehicle_profiles/`, and names B its unseen car: a configuration with `zero_shot: true` runs
without B's profile folder (copies of the others'), so B's captures match no profile and are
scored at the zero-shot threshold. `CONFIGS` below are the rows; each is a set of runtime
parameters over `--env`. Rows are appended to `<out>/runs.csv` after each run (a finished
(direction, config, seed) is skipped when the script is started again), and `--summary` prints
mean ± sd over seeds per direction, configuration, model and operating point.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ALL = ["payload", "timing", "change", "oov", "history", "rates", "novelty", "context", "profile"]
AGNOSTIC = ["rates", "novelty", "profile"]


def _groups(groups: list[str], can_ids: bool = False) -> dict[str, Any]:
    scale = {"large": {"can_ids": can_ids}, "small": {"can_ids": can_ids}}
    return {"graphs": {"feature_groups": groups}, "model_scales": {"gat": scale, "vgae": scale}}


# name → runtime parameters (and `zero_shot`: run without the unseen car's profile)
CONFIGS: dict[str, dict[str, Any]] = {
    "agnostic": _groups(AGNOSTIC),
    "agnostic_zero_shot": _groups(AGNOSTIC) | {"zero_shot": True},
    "agnostic+embedding": _groups(AGNOSTIC, can_ids=True),
    "agnostic-rates": _groups(["novelty", "profile"]),
    "agnostic-novelty": _groups(["rates", "profile"]),
    "agnostic-profile": _groups(["rates", "novelty"]),
    "agnostic+history": _groups([*AGNOSTIC, "history"]),
    "agnostic+context": _groups([*AGNOSTIC, "context"]),
    "id_specific+embedding": _groups(["payload", "timing", "change", "oov"], can_ids=True),
    "all+embedding": _groups(ALL, can_ids=True),
}
KEYS = ["direction", "config", "seed"]
TEST_COLUMNS = [
    "window_f1",
    "window_f1_best",
    "n_windows",
    "n_flagged",
    "n_events",
    "n_detected",
    "latency_median_s",
    "benign_minutes",
    "false_alarms",
    "frame_f1",
    "frame_f1_localised",
    "calibrated_share",
]


def _link_set(raw: Path, data: Path, set_name: str) -> str:
    """`raw/<set>_ablation` → the shared set (its own data folders, apart from the sample's)."""
    name = f"{set_name}_ablation"
    (raw / name).symlink_to((data / "can-train-and-test" / set_name).resolve())
    return name


def _profiles_without(scratch: Path, data: Path, vehicle: str) -> Path:
    """A calibration root with every car's recordings but `vehicle`'s (links to the folders)."""
    root = scratch / f"profiles_without_{vehicle}"
    root.mkdir()
    for folder in sorted((data / "vehicle_profiles").iterdir()):
        if folder.is_dir() and folder.name != vehicle:
            (root / folder.name).symlink_to(folder.resolve(), target_is_directory=True)
    return root


def run_one(env: str | None, runtime: dict[str, Any], rows: Path) -> None:
    """One `kedro run` in this process (called in a child: the roster is read at import); its
    test rows, loaded through the catalog, go to `rows`."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(ROOT)
    with KedroSession.create(ROOT, env=env, runtime_params=runtime) as session:
        session.run()
        catalog = session.load_context().catalog
        _test_rows(catalog.load("field_metrics"), catalog.load("metrics")).to_csv(rows, index=False)


def _test_rows(field: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """A run's field metrics on the labelled test scenarios, with AUROC and MCC."""
    field = field[~field["suppress"].astype(bool)]
    keys = ["model", "operating_point", "scenario"]
    extra = [c for c in ("auroc", "mcc") if c in metrics.columns]
    return field[keys + TEST_COLUMNS].merge(metrics[keys + extra], on=keys, how="left")


def run_all(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / "runs.csv"
    done = (
        set(map(tuple, pd.read_csv(table)[KEYS].astype(str).drop_duplicates().to_numpy()))
        if table.exists()
        else set()
    )
    data = Path(args.data)
    scratch = Path(tempfile.mkdtemp(prefix="kd_gat_ablation_"))
    raw = scratch / "raw"
    rows_path = scratch / "rows.csv"  # one run's test rows, written by its process
    raw.mkdir()
    try:
        directions = [d.split(":") for d in args.directions.split(",")]
        datasets = {s: _link_set(raw, data, s) for s, _ in directions}
        for config in args.configs.split(","):  # each configuration in both directions first
            spec = dict(CONFIGS[config])
            zero_shot = spec.pop("zero_shot", False)
            for set_name, unseen in directions:
                direction = f"{set_name}:{unseen}"
                calibration = (data / "vehicle_profiles").resolve()
                if zero_shot:
                    calibration = scratch / f"profiles_without_{unseen}"
                    if not calibration.exists():
                        _profiles_without(scratch, data, unseen)
                for seed in args.seeds.split(","):
                    if (direction, config, seed) in done:
                        continue
                    runtime = spec | {
                        "raw_root": str(raw),
                        "dataset": datasets[set_name],
                        "calibration_root": str(calibration),
                        "training": {"seed": int(seed)},
                        # the roster is cut: deploy what validation chooses among what is left
                        "inference_detector": "validated",
                    }
                    started = time.perf_counter()
                    subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--one",
                            json.dumps([args.env, runtime, str(rows_path)]),
                        ],
                        check=True,
                        cwd=ROOT,
                        env=os.environ | {"KD_GAT_DETECTORS": args.detectors},
                    )
                    rows = pd.read_csv(rows_path)
                    rows.insert(0, "seed", seed)
                    rows.insert(0, "config", config)
                    rows.insert(0, "direction", direction)
                    rows["run_s"] = round(time.perf_counter() - started, 1)
                    rows.to_csv(table, mode="a", header=not table.exists(), index=False)
                    seconds = rows["run_s"].iloc[0]
                    print(f"{direction} {config} seed {seed}: {seconds} s", flush=True)
    finally:
        shutil.rmtree(scratch)


def summary(out: Path) -> pd.DataFrame:
    """Mean ± sd over seeds of the test scenarios' figures, one row per direction, config,
    model, operating point and scenario."""
    runs = pd.read_csv(out / "runs.csv")
    runs["flagged"] = runs["n_flagged"] / runs["n_windows"]
    runs["events"] = runs["n_detected"] / runs["n_events"]
    keys = ["direction", "config", "model", "operating_point", "scenario"]
    figures = ["window_f1", "window_f1_best", "mcc", "auroc", "flagged", "events", "false_alarms"]
    figures += ["latency_median_s", "frame_f1_localised"]
    grouped = runs.groupby(keys, sort=False)
    table = grouped[figures].mean().round(3)
    sd = grouped["window_f1"].std().round(3)
    table.insert(1, "window_f1_sd", sd)
    table.insert(0, "seeds", grouped["seed"].nunique())
    table["benign_minutes"] = grouped["benign_minutes"].mean().round(2)
    return table.reset_index()


UNSEEN, KNOWN = "test_04", "test_01"  # scenario prefixes: unseen car, training car


def compact(table: pd.DataFrame, direction: str) -> pd.DataFrame:
    """One row per configuration, model and operating point of `direction`: the unseen car's
    window F1 (mean ± sd over seeds, best-threshold F1), MCC, share flagged, events, false
    alarms, median latency, localised frame F1; the known car's window F1 and share flagged."""
    rows = table[table["direction"] == direction]
    keys = ["config", "model", "operating_point"]
    unseen = rows[rows["scenario"].str.startswith(UNSEEN)].set_index(keys)
    known = rows[rows["scenario"].str.startswith(KNOWN)].set_index(keys)
    sd = unseen["window_f1_sd"].map(lambda v: "" if pd.isna(v) else f" ± {v:.3f}")
    return pd.DataFrame(
        {
            "seeds": unseen["seeds"],
            f"{UNSEEN} F1 (best)": unseen["window_f1"].map("{:.3f}".format)
            + sd
            + unseen["window_f1_best"].map(" ({:.2f})".format),
            "MCC": unseen["mcc"],
            "flagged": unseen["flagged"].map("{:.1%}".format),
            "events": unseen["events"].map("{:.0%}".format),
            f"false alarms ({unseen['benign_minutes'].iloc[0]} min)": unseen["false_alarms"],
            "latency s": unseen["latency_median_s"],
            "localised frame F1": unseen["frame_f1_localised"],
            f"{KNOWN} F1": known["window_f1"],
            f"{KNOWN} flagged": known["flagged"].map("{:.1%}".format),
        }
    ).reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--env", default=None, help="Kedro environment (default: base)")
    parser.add_argument("--directions", default="set_01:B,set_02:C")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--detectors", default="gat_student,vgae_student")
    parser.add_argument("--out", default=str(ROOT / "data" / "08_reporting" / "ablation"))
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    if args.one:
        env, runtime, rows = json.loads(args.one)
        run_one(env, runtime, Path(rows))
    elif args.summary:
        table = summary(Path(args.out))
        for direction in table["direction"].unique():
            print(f"\n{direction}\n")
            print(compact(table, direction).to_markdown(index=False))
    else:
        run_all(args)


if __name__ == "__main__":
    main()
