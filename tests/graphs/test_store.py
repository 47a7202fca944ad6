"""Graph store: PyG items, selection, .npz round trip without pickle, Kedro datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from kedro.io.core import Version
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from kd_gat.datasets.graph_store import GraphStoreDataset, GraphStoreMapDataset
from kd_gat.graphs.builder import build_store
from kd_gat.graphs.store import WINDOW_COLUMNS, GraphStore
from tests.graphs.factory import random_frames


@pytest.fixture
def store() -> GraphStore:
    frames = random_frames(np.random.default_rng(1), [57, 33, 12], n_ids=5)
    vocabulary = np.unique(frames["can_id"].to_numpy()[:40]).astype(np.int64)
    built, _ = build_store(frames, vocabulary, 10, 7, "keep", 1)
    return built


def assert_same(a: GraphStore, b: GraphStore) -> None:
    for field in ("x", "node_id", "edge_index", "edge_attr", "node_ptr", "edge_ptr"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        assert getattr(a, field).dtype == getattr(b, field).dtype, field
    pd.testing.assert_frame_equal(a.windows, b.windows)
    assert (a.node_features, a.edge_features, a.num_ids) == (
        b.node_features,
        b.edge_features,
        b.num_ids,
    )


def test_items_follow_the_interface(store):
    assert tuple(store.windows.columns) == WINDOW_COLUMNS
    d = store[3]
    assert d.x.dtype == torch.float32
    assert d.x.shape[1] == len(store.node_features)
    assert d.node_id.dtype == torch.int64
    assert d.node_id.shape == (d.num_nodes,)
    assert d.edge_index.dtype == torch.int64
    assert d.edge_index.shape[0] == 2
    assert int(d.edge_index.max()) < d.num_nodes
    assert d.edge_attr.dtype == torch.float32
    assert d.edge_attr.shape == (d.edge_index.shape[1], len(store.edge_features))
    assert d.y.dtype == torch.int64
    assert d.y.shape == (1,)
    assert d.window.tolist() == [3]
    assert store[-1].window.tolist() == [len(store) - 1]
    with pytest.raises(IndexError):
        store[len(store)]


def test_pyg_dataloader_batches(store):
    batch = next(iter(DataLoader(store, batch_size=4, shuffle=False)))
    assert batch.num_graphs == 4
    assert batch.y.tolist() == store.y[:4].tolist()
    assert batch.window.tolist() == [0, 1, 2, 3]
    assert int(batch.edge_index.max()) < batch.num_nodes
    assert batch.node_id.max() < store.num_ids


def test_fast_batch_equals_pyg_collation(store):
    idx = [5, 0, 3, 3, -1]
    fast = store.batch(idx)
    reference = Batch.from_data_list([store[i] for i in idx])
    assert fast.num_graphs == reference.num_graphs == 5
    for key in ("x", "node_id", "edge_index", "edge_attr", "y", "window", "batch", "ptr"):
        assert torch.equal(fast[key], reference[key]), key
    loader = torch.utils.data.DataLoader(range(len(store)), batch_size=4, collate_fn=store.batch)
    assert sum(b.num_graphs for b in loader) == len(store)


def test_select_keeps_graphs_intact(store):
    idx = [4, 0, 2]
    sub = store.select(idx)
    assert len(sub) == 3
    for k, i in enumerate(idx):
        a, b = sub[k], store[i]
        for key in ("x", "node_id", "edge_index", "edge_attr", "y"):
            assert torch.equal(a[key], b[key]), key
    assert sub.windows.iloc[0]["start_row"] == store.windows.iloc[4]["start_row"]
    assert len(store.select([])) == 0


def test_npz_round_trip_without_pickle(store, tmp_path):
    path = tmp_path / "s.npz"
    store.save(path)
    with np.load(path, allow_pickle=False) as data:  # would raise on object arrays
        assert all(data[k].dtype != object for k in data.files)
    assert_same(GraphStore.load(path), store)


def test_empty_store_round_trip(store, tmp_path):
    empty = store.select([])
    empty.save(tmp_path / "e.npz")
    loaded = GraphStore.load(tmp_path / "e.npz")
    assert len(loaded) == 0
    assert loaded.x.shape == (0, len(store.node_features))


def test_kedro_datasets_round_trip(store, tmp_path):
    single = GraphStoreDataset(str(tmp_path / "train.npz"))
    assert not single.exists()
    single.save(store)
    assert single.exists()
    assert_same(single.load(), store)

    versioned = GraphStoreDataset(str(tmp_path / "v.npz"), version=Version(None, None))
    versioned.save(store)
    assert_same(versioned.load(), store)

    mapping = GraphStoreMapDataset(str(tmp_path / "test"))
    mapping.save({"scenario_a": store.select([0, 1]), "scenario_b": store.select([2])})
    loaded = mapping.load()
    assert sorted(loaded) == ["scenario_a", "scenario_b"]
    assert_same(loaded["scenario_b"], store.select([2]))
    mapping.save({"scenario_c": store})  # a new save replaces the old scenarios
    assert sorted(mapping.load()) == ["scenario_c"]
