"""Every stage run in-process, chained: ingestion → graphs → … → reporting, then inference.

Each stage's `create_pipeline()` (the graph factory of `kd_gat.pipelines.<stage>`) runs with
Kedro's `SequentialRunner` on a `DataCatalog` of memory datasets: the stage's free inputs are the
earlier stages' outputs (the first reads the shipped sample with the project's capture dataset),
parameters are `conf/` with the `smoke` environment loaded as `kedro run --env smoke` loads them,
and every output is kept for the next stages and for the tests in `tests/pipelines/<stage>/`.
The session-scoped fixtures run each stage once (≈ 10 s for all of them on 2 cores).

What only a real `kedro run` shows (files on disk, versions, MLflow) is in test_project_run.py.
"""

from __future__ import annotations

import copy
import gzip
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner

from kd_gat import deployment, roster
from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.hooks import validate_parameters
from kd_gat.pipeline_registry import ON_DEMAND
from kd_gat.pipeline_registry import STAGES as DEFAULT_STAGES
from kd_gat.settings import CONFIG_LOADER_ARGS
from tests.conftest import PROJECT, SAMPLE

CONF = PROJECT / "conf"
DATASET = SAMPLE / "set_01"
PROFILES = SAMPLE.parent / "vehicle_profiles"
STAGES = (*DEFAULT_STAGES, *ON_DEMAND)  # the default run, in order, then on demand
# new captures for the inference stage (labels dropped): file → (shipped test capture, rows)
CAR_B_TEST = DATASET / "test_04_unknown_vehicle_unknown_attack" / "systematic-4.csv.gz"
NEW_CAPTURES = {
    "car_a/drive.csv": (DATASET / "test_01_known_vehicle_known_attack" / "DoS-3.csv.gz", 3_050),
    "car_b/drive.csv": (CAR_B_TEST, 20_000),
}


class KeptDataset(MemoryDataset):
    """A memory dataset that the runner does not empty after its last reader in the stage, so
    that later stages and the tests can read every output (intermediate ones too)."""

    def _release(self) -> None:
        pass


def config_loader(
    env: str = "smoke", runtime_params: dict[str, Any] | None = None
) -> OmegaConfigLoader:
    """`conf/` as `kedro run --env <env> [--params ...]` loads it (the project's loader args)."""
    return OmegaConfigLoader(
        str(CONF), env=env, runtime_params=runtime_params, **CONFIG_LOADER_ARGS
    )


def load_parameters(env: str = "smoke", runtime_params: dict[str, Any] | None = None) -> dict:
    params = config_loader(env, runtime_params)["parameters"]
    validate_parameters(params)  # what the project hook does before a run
    return params


def parameter_entries(params: Mapping[str, Any]) -> dict[str, Any]:
    """`params:<key>` for every key and nested key, as Kedro feeds parameters to nodes."""
    entries: dict[str, Any] = {}

    def add(name: str, value: Any) -> None:
        entries[f"params:{name}"] = value
        if isinstance(value, Mapping):
            for key, item in value.items():
                add(f"{name}.{key}", item)

    for key, value in params.items():
        add(key, value)
    return entries


@dataclass
class StageRun:
    """One in-process stage run: its pipeline, the free inputs it read, every output it wrote,
    and `artifacts`, the datasets of this and every earlier stage (the next stage's supply)."""

    pipeline: Pipeline
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    artifacts: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]


def run_stage(
    stage: str,
    available: Mapping[str, Any],
    params: Mapping[str, Any],
    namespaces: list[str] | None = None,
) -> StageRun:
    """Run `kd_gat.pipelines.<stage>.create_pipeline()` with SequentialRunner on memory datasets
    (only the nodes of `namespaces`, when given).

    Free inputs come from `available` (datasets) and `params` (as `params:` entries), each load
    a copy (Kedro's default copy modes), as a real run reloads them from disk: a node that
    changes what it read (distillation freezes the teacher) changes nothing for later stages.
    Outputs are kept by reference.
    """
    pipeline = import_module(f"kd_gat.pipelines.{stage}").create_pipeline()
    if namespaces is not None:
        pipeline = pipeline.only_nodes_with_namespaces(namespaces)
    supply = {**parameter_entries(params), **available}
    missing = sorted(pipeline.inputs() - supply.keys())
    if missing:
        raise KeyError(f"{stage}: no earlier stage produced {missing}")
    inputs = {name: supply[name] for name in pipeline.inputs()}
    datasets: dict[str, MemoryDataset] = {
        name: MemoryDataset(value) for name, value in inputs.items()
    }
    datasets |= {name: KeptDataset(copy_mode="assign") for name in pipeline.all_outputs()}
    catalog = DataCatalog(datasets)
    SequentialRunner().run(pipeline, catalog)
    outputs = {name: catalog[name].load() for name in pipeline.all_outputs()}
    artifacts = {k: v for k, v in available.items() if not k.startswith("params:")} | outputs
    return StageRun(pipeline, inputs, outputs, artifacts)


def write_new_captures(root: Path) -> Path:
    """A folder of new, unlabelled captures, shipped test captures without their `attack`
    column: `car_a/drive.csv`, the first rows of one of car A's (no profile), and
    `car_b/drive.csv`, the whole of car B's test_04 capture (B's profile)."""
    for name, (source, rows) in NEW_CAPTURES.items():
        with gzip.open(source, "rt") as f:
            lines = [line for _, line in zip(range(rows + 1), f, strict=False)]
        unlabelled = [line.rstrip("\n").rsplit(",", 1)[0] + "\n" for line in lines]
        assert unlabelled[0] == "timestamp,arbitration_id,data_field\n"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("".join(unlabelled))
    return root


@pytest.fixture(scope="session")
def stage_params(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Smoke parameters; Lightning's checkpoint folders go to a temporary folder."""
    params = load_parameters("smoke")
    params["training"]["checkpoint_root"] = str(tmp_path_factory.mktemp("checkpoints"))
    return params


@pytest.fixture
def params(stage_params: dict) -> dict:
    """A copy of the smoke parameters that a test may change."""
    return copy.deepcopy(stage_params)


@pytest.fixture(scope="session")
def ingestion_run(stage_params: dict) -> StageRun:
    """Ingestion of the shipped sample; the shipped attack-free recordings (a slice of car B)
    ride along for the profiles stage."""
    captures = CaptureFolderDataset(str(DATASET)).load()
    recordings = CaptureFolderDataset(str(PROFILES), labelled=False).load()
    supply = {"raw_captures": captures, "calibration_captures": recordings}
    return run_stage("ingestion", supply, stage_params)


def _next_stage(stage: str, previous: str):
    """Session fixture `<stage>_run`: the stage run on the artifacts of `<previous>_run`."""

    @pytest.fixture(scope="session", name=f"{stage}_run")
    def run(request: pytest.FixtureRequest, stage_params: dict) -> StageRun:
        return run_stage(stage, request.getfixturevalue(f"{previous}_run").artifacts, stage_params)

    return run


# graphs_run, training_run, ... reporting_run: each stage on the one before
for _previous, _stage in itertools.pairwise(DEFAULT_STAGES):
    globals()[f"{_stage}_run"] = _next_stage(_stage, _previous)


@pytest.fixture(scope="session")
def inference_detector(evaluation_run: StageRun) -> str:
    """The detector batch inference deploys by default (globals.yml `inference.detector`:
    `validated`, the evaluation stage's choice on validation windows)."""
    default = config_loader("smoke")["globals"]["inference"]["detector"]
    return deployment.resolve(default, evaluation_run["deployment_choice"])


@pytest.fixture(scope="session")
def inference_run(
    fusion_run: StageRun,
    inference_detector: str,
    stage_params: dict,
    tmp_path_factory: pytest.TempPathFactory,
) -> StageRun:
    new = write_new_captures(tmp_path_factory.mktemp("inference") / "new_captures")
    supply = fusion_run.artifacts | {
        "inference_captures": CaptureFolderDataset(str(new), labelled=False).load(),
        "inference_models": {
            name: fusion_run.artifacts[f"{name}.model"]
            for name in roster.deployed_members(inference_detector)
        },
    }
    return run_stage("inference", supply, stage_params)


@pytest.fixture(scope="session")
def export_run(fusion_run: StageRun, inference_detector: str, stage_params: dict) -> StageRun:
    """The export stage on the models of the default run, for the detector inference deploys."""
    supply = fusion_run.artifacts | {
        "inference_models": {
            name: fusion_run.artifacts[f"{name}.model"]
            for name in roster.deployed_members(inference_detector)
        },
    }
    return run_stage("export", supply, stage_params)


@pytest.fixture(scope="session")
def bundle_dir(export_run: StageRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export stage's bundle, written where `kd_gat.bundle.ExportedDetector` reads it."""
    from kd_gat.datasets.bundle import DetectorBundleDataset

    folder = tmp_path_factory.mktemp("bundle")
    DetectorBundleDataset(str(folder)).save(export_run["detector_bundle"])
    return folder


@pytest.fixture(scope="session")
def small_graphs() -> StageRun:
    """The graphs stage on a small hand-made frames table (`tests.pipelines.factory`): stores,
    vocabulary and feature statistics for the node unit tests."""
    from tests.pipelines.factory import GRAPHS, small_frames

    no_matches = pd.DataFrame(columns=["capture", "profile", "matched_from"])
    supply = {
        "frames": small_frames(),
        "capture_matches": no_matches,
        "vehicle_profiles": {"profiles": {}, "refused": {}},  # no vehicle profile
        "calibration_frames": small_frames().head(0),  # and no recording
        "calibration_matches": no_matches,
    }
    return run_stage("graphs", supply, {"graphs": GRAPHS, "dataset": "small", "profiles": {}})
