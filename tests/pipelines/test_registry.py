"""The registry: every stage package is a registered pipeline wrapped in its namespace, every
stage has its test folder here, and every dataset that crosses a stage boundary is persisted by
the catalog (an undeclared one would be a memory dataset, lost between `kedro run --pipeline`
calls)."""

from __future__ import annotations

from importlib import import_module

import pytest
from kedro.framework.project import configure_project
from kedro.io import DataCatalog, MemoryDataset

from kd_gat.pipeline_registry import ON_DEMAND, register_pipelines
from tests.conftest import PROJECT
from tests.pipelines.conftest import STAGES, config_loader


@pytest.fixture(scope="module")
def pipelines():
    configure_project("kd_gat")
    return register_pipelines()


def test_every_stage_is_registered_and_has_its_test_folder(pipelines) -> None:
    packages = sorted(
        p.parent.name for p in (PROJECT / "src" / "kd_gat" / "pipelines").glob("*/pipeline.py")
    )
    assert sorted(STAGES) == packages
    assert set(pipelines) == {*STAGES, "__default__"}
    for stage in STAGES:
        folder = PROJECT / "tests" / "pipelines" / stage
        assert (folder / "__init__.py").exists(), stage
        assert (folder / "test_pipeline.py").exists(), stage


def test_each_stage_is_its_graph_factory_under_the_stage_namespace(pipelines) -> None:
    for stage in STAGES:
        plain = import_module(f"kd_gat.pipelines.{stage}").create_pipeline()
        registered = pipelines[stage]
        # datasets keep their names (prefix_datasets_with_namespace=False) …
        assert registered.datasets() == plain.datasets()
        assert registered.inputs() == plain.inputs()
        # … and nodes are grouped under the stage
        assert {n.name for n in registered.nodes} == {f"{stage}.{n.name}" for n in plain.nodes}


def test_the_default_run_is_every_stage_but_the_on_demand_ones(pipelines) -> None:
    default = pipelines["__default__"]
    expected = {n.name for s in STAGES if s not in ON_DEMAND for n in pipelines[s].nodes}
    assert {n.name for n in default.nodes} == expected
    # it starts from the raw captures and the cars' attack-free recordings only: every other
    # input is produced by an earlier stage
    inputs = {d for d in default.inputs() if not d.startswith("params:")}
    assert inputs == {"raw_captures", "calibration_captures"}


def test_every_dataset_crossing_a_stage_boundary_is_persisted(pipelines) -> None:
    catalog = DataCatalog.from_config(config_loader("base")["catalog"])
    for stage in STAGES:
        pipe = pipelines[stage]
        crossing = {d for d in pipe.inputs() if not d.startswith("params:")} | pipe.outputs()
        for name in crossing:
            dataset = catalog.get(name)
            assert dataset is not None, f"{name} ({stage}) is not in the catalog"
            assert not isinstance(dataset, MemoryDataset), f"{name} ({stage}) is not persisted"
