"""Fingerprints: artifacts know the data and parameters they come from; mismatches are refused."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from kedro.io import DatasetError, Version

from kd_gat.datasets.torch_model import TorchModelDataset
from kd_gat.fingerprint import FingerprintMismatch, check_same, table_digest
from kd_gat.graphs.builder import build_store
from kd_gat.graphs.store import GraphStore
from kd_gat.models import build_model
from kd_gat.models.model_file import load_model, save_model
from kd_gat.pipelines.graphs.nodes import fit_graph_feature_stats, learn_vocabulary
from kd_gat.pipelines.scoring.nodes import score_windows
from kd_gat.roster import DETECTORS
from tests.graphs.factory import random_frames
from tests.synthetic import architecture

GRAPHS = {"window_size": 100, "stride": 100}


def frames_and_store(seed: int = 0):
    frames = random_frames(
        np.random.default_rng(seed), [250, 320], splits=["train_with_attacks"] * 2
    )
    store, _ = build_store(frames, np.unique(frames["can_id"]), 100, 100, "drop", 1)
    return frames, store


def test_vocabulary_and_statistics_fingerprints_follow_data_and_parameters():
    frames, store = frames_and_store()
    vocab = learn_vocabulary(frames, "set_01")
    assert vocab["fingerprint"].startswith("set_01:")
    assert learn_vocabulary(frames, "set_01")["fingerprint"] == vocab["fingerprint"]
    changed = frames.copy()
    changed.loc[3, "byte_0"] = (int(changed.loc[3, "byte_0"]) + 1) % 256
    assert learn_vocabulary(changed, "set_01")["fingerprint"] != vocab["fingerprint"]
    assert learn_vocabulary(frames, "set_02")["fingerprint"].startswith("set_02:")

    stats = fit_graph_feature_stats(store, vocab, GRAPHS)
    assert stats["fingerprint"].startswith("set_01:")
    assert fit_graph_feature_stats(store, vocab, GRAPHS)["fingerprint"] == stats["fingerprint"]
    other = fit_graph_feature_stats(store, vocab, {**GRAPHS, "stride": 50})
    assert other["fingerprint"] != stats["fingerprint"]


def test_table_digest_sees_order_and_values():
    frames, _ = frames_and_store()
    assert table_digest(frames) == table_digest(frames.copy())
    assert table_digest(frames) != table_digest(frames.iloc[::-1].reset_index(drop=True))


def test_model_files_keep_the_fingerprint(tmp_path):
    model = build_model("gat", architecture("gat", hidden=8, heads=2, layers=1, embed_dim=4),
                        num_ids=8, node_dim=3, edge_dim=2)  # fmt: skip
    model.fingerprint = "set_01:abc"
    save_model(model, tmp_path / "m.pt")
    assert load_model(tmp_path / "m.pt").fingerprint == "set_01:abc"


def _store_with(fp: str) -> GraphStore:
    from dataclasses import replace

    return replace(frames_and_store()[1], fingerprint=fp)


def test_scoring_refuses_a_model_of_other_graphs():
    store = _store_with("set_01:aaa")
    gat = next(d for d in DETECTORS if d.kind == "gat")
    model = build_model("gat", architecture("gat", hidden=8, heads=2, layers=1, embed_dim=4),
                        num_ids=store.num_ids, node_dim=store.x.shape[1],
                        edge_dim=store.edge_attr.shape[1])  # fmt: skip
    model.fingerprint = "set_02:bbb"
    with pytest.raises(FingerprintMismatch, match=r"gat_\w+\.model comes from set_02:bbb but "):
        score_windows(model, store, store, {"t": store}, {"batch_size": 8}, detector=gat)
    model.fingerprint = "set_01:aaa"
    table = score_windows(model, store, store, {"t": store}, {"batch_size": 8}, detector=gat)
    assert set(table["model"]) == {gat.name}


def test_check_same_names_both_sides():
    check_same("a", "x:1", "b", "x:1")
    with pytest.raises(FingerprintMismatch, match="a comes from x:1 but b from y:2"):
        check_same("a", "x:1", "b", "y:2")


def _tiny_model():
    arch = architecture("vgae", hidden=8, heads=2, layers=1, embed_dim=4, latent=4)
    return build_model("vgae", arch, num_ids=8, node_dim=3, edge_dim=2)


def test_model_dataset_writes_atomically_and_only_on_rank_zero(tmp_path, monkeypatch):
    path = str(tmp_path / "m.pt")
    TorchModelDataset(path, version=Version(None, "v1")).save(_tiny_model())
    assert [p.name for p in (tmp_path / "m.pt" / "v1").iterdir()] == ["m.pt"]  # no leftovers
    monkeypatch.setenv("LOCAL_RANK", "1")  # a second DDP process
    TorchModelDataset(path, version=Version(None, "v2")).save(_tiny_model())
    assert not (tmp_path / "m.pt" / "v2").exists()


def test_a_corrupt_model_file_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "m.pt"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(DatasetError, match=r"m\.pt: not a readable kd_gat model file .* Delete it"):
        TorchModelDataset(str(bad)).load()
    torch.save({"kind": "gat"}, bad)  # a readable file that is not a model
    with pytest.raises(DatasetError, match="not a readable kd_gat model file"):
        TorchModelDataset(str(bad)).load()
    assert os.path.exists(bad)
