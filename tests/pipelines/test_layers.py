"""kedro-viz's layer view: the catalog's layers, ordered by the pipelines' data flow, must form
an acyclic graph (kedro-viz drops the layer bands when they do not), and every persisted
dataset a pipeline reads or writes names its layer."""

from __future__ import annotations

import itertools

import networkx as nx
import pytest
from kedro.framework.project import configure_project
from kedro.io import DataCatalog, MemoryDataset

from kd_gat.pipeline_registry import register_pipelines
from tests.pipelines.conftest import config_loader

LAYERS = (
    "raw",
    "intermediate",
    "primary",
    "feature",
    "model_input",
    "models",
    "model_output",
    "reporting",
)


@pytest.fixture(scope="module")
def flow() -> tuple[nx.DiGraph, dict[str, str | None]]:
    """Dataset → dataset edges of every registered pipeline, and each dataset's layer."""
    configure_project("kd_gat")
    catalog = DataCatalog.from_config(config_loader("base")["catalog"])
    graph, layers = nx.DiGraph(), {}
    for pipeline in register_pipelines().values():
        for node in pipeline.nodes:
            names = [n for n in node.inputs + node.outputs if not n.startswith("params")]
            for name in names:
                if name not in layers:
                    dataset = catalog.get(name) if name in catalog else None
                    meta = getattr(dataset, "metadata", None) or {}
                    layer = (meta.get("kedro-viz") or {}).get("layer")
                    persisted = dataset is not None and not isinstance(dataset, MemoryDataset)
                    layers[name] = layer if layer or not persisted else "MISSING"
            graph.add_edges_from(
                (i, o) for i in node.inputs if not i.startswith("params") for o in node.outputs
            )
    return graph, layers


def test_every_persisted_dataset_names_a_known_layer(flow) -> None:
    _, layers = flow
    wrong = {name: layer for name, layer in layers.items() if layer and layer not in LAYERS}
    assert not wrong


def test_the_layers_follow_the_data_flow_without_a_cycle(flow) -> None:
    graph, layers = flow
    order = nx.DiGraph()
    for source, layer in layers.items():
        if not layer:
            continue
        # the next layered datasets downstream, through datasets without a layer (memory)
        seen, stack = set(), list(graph.successors(source)) if source in graph else []
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if layers.get(name):
                if layers[name] != layer:
                    order.add_edge(layer, layers[name], via=(source, name))
            else:
                stack.extend(graph.successors(name))
    cycles = list(nx.simple_cycles(order))
    detail = [
        [order.edges[a, b]["via"] for a, b in itertools.pairwise([*c, c[0]])] for c in cycles[:3]
    ]
    assert not cycles, detail
