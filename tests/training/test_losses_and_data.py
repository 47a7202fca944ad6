"""Losses, class weights, the data module's filtering and balanced sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from kd_gat.balance import class_weights
from kd_gat.models import build_model
from kd_gat.params.training import VGAELossParams
from kd_gat.training.datamodule import GraphDataModule, data_sizes, graph_labels, graph_loader
from kd_gat.training.losses import ClassificationLoss, VGAELoss, task_loss
from tests.synthetic import architecture, synthetic_windows


def test_class_weights_balance_the_classes():
    weights = class_weights(np.array([0] * 90 + [1] * 10))
    np.testing.assert_allclose(weights, [100 / 180, 100 / 20])
    # each class then carries the same total weight
    assert weights[0] * 90 == pytest.approx(weights[1] * 10)
    assert class_weights(np.zeros(5, dtype=int)).tolist() == [0.5, 0.0]  # absent class: 0


def test_task_loss_follows_the_imbalance_choice():
    labels = np.array([0, 0, 0, 1])
    assert task_loss("gat", labels, "class_weights", VGAELossParams()).weight is not None
    assert task_loss("gat", labels, "sampler", VGAELossParams()).weight is None
    assert isinstance(task_loss("vgae", labels, "none", VGAELossParams()), VGAELoss)


def test_weighted_cross_entropy_upweights_the_rare_class():
    batch = Batch.from_data_list(synthetic_windows(4, attack_rate=0.0, seed=0))
    batch.y = torch.tensor([0, 0, 0, 1])
    logits = torch.zeros(4, 2)
    logits[:, 0] = 2.0  # confident "normal" everywhere: wrong on the attack
    plain = ClassificationLoss()(logits, batch).loss
    weight = torch.tensor(class_weights(batch.y.numpy()), dtype=torch.float32)
    weighted = ClassificationLoss(weight)(logits, batch).loss
    assert weighted > plain


def test_vgae_loss_parts_and_kl_weight():
    data = synthetic_windows(3, seed=0)
    batch = Batch.from_data_list(data)
    torch.manual_seed(0)
    arch = architecture("vgae", hidden=8, heads=2, layers=1, embed_dim=4, latent=4)
    model = build_model("vgae", arch, **data_sizes(data)).train()
    out = model(batch)
    result = VGAELoss(VGAELossParams(kl_weight=0.0))(out, batch)
    assert set(result.parts) == {"feature", "can_id", "edge", "kl"}
    with_kl = VGAELoss(VGAELossParams(kl_weight=1.0))(out, batch).loss
    torch.testing.assert_close(with_kl - result.loss, result.parts["kl"])


def test_labels_and_sizes_from_store_attributes_or_items():
    store = synthetic_windows(20, num_ids=40, node_dim=5, edge_dim=2, seed=0)
    as_list = list(store)  # no `y` / `num_ids` attributes: read item by item
    assert np.array_equal(graph_labels(store), graph_labels(as_list))
    assert data_sizes(store) == {"num_ids": 40, "node_dim": 5, "edge_dim": 2}
    assert data_sizes(as_list)["num_ids"] <= 40


def test_normal_only_trains_on_normal_windows_and_validates_on_all():
    train, val = synthetic_windows(40, attack_rate=0.5, seed=0), synthetic_windows(10, seed=1)
    dm = GraphDataModule(train, val, batch_size=8, normal_only=True, seed=0)
    seen = torch.cat([b.y for b in dm.train_dataloader()])
    assert len(seen) == int((train.y == 0).sum())
    assert (seen == 0).all()
    assert sum(b.num_graphs for b in dm.val_dataloader()) == len(val)


def test_balanced_sampler_draws_both_classes_equally():
    train = synthetic_windows(400, attack_rate=0.1, nodes=(3, 5), seed=0)
    dm = GraphDataModule(train, train, batch_size=100, balanced=True, seed=0)
    drawn = torch.cat([b.y for b in dm.train_dataloader()]).float()
    assert len(drawn) == len(train)
    assert 0.4 < drawn.mean() < 0.6  # ≈ 0.1 without the sampler


def test_shuffling_is_seeded():
    train = synthetic_windows(30, nodes=(3, 5), seed=0)

    def order(seed):
        dm = GraphDataModule(train, train, batch_size=30, seed=seed)
        return next(iter(dm.train_dataloader())).window.tolist()

    assert order(1) == order(1)
    assert order(1) != order(2)


def test_loader_uses_the_store_vectorised_batching_when_present():
    windows = synthetic_windows(10, nodes=(3, 5), seed=0)
    calls = []

    class Store(list):
        y = windows.y
        num_ids = windows.num_ids

        def batch(self, indices):
            calls.append(list(indices))
            return Batch.from_data_list([self[i] for i in indices])

    store = Store(windows)
    (batch,) = graph_loader(store, [1, 3, 5], batch_size=8)
    assert calls == [[1, 3, 5]]
    assert batch.window.tolist() == [1, 3, 5]
    (plain,) = graph_loader(windows, [1, 3, 5], batch_size=8)  # no `batch`: Data per window
    assert torch.equal(plain.x, batch.x)
    assert torch.equal(plain.edge_index, batch.edge_index)


def test_profile_windows_ride_along_each_training_batch():
    """A student with unlabelled profile windows gets `{"train", "profile"}` batches; the
    shorter loader cycles (Lightning's default for training), validation is unchanged."""
    train, val = synthetic_windows(40, seed=0), synthetic_windows(10, seed=1)
    profile = synthetic_windows(12, seed=2)
    dm = GraphDataModule(train, val, batch_size=8, seed=0, profile=profile)
    loaders = dm.train_dataloader()
    assert set(loaders) == {"train", "profile"}
    assert sum(b.num_graphs for b in loaders["profile"]) == len(profile)
    assert sum(b.num_graphs for b in loaders["train"]) == len(train)
    assert sum(b.num_graphs for b in dm.val_dataloader()) == len(val)
    # no profile window: the plain loader
    empty = GraphDataModule(train, val, batch_size=8, seed=0, profile=[])
    assert not isinstance(empty.train_dataloader(), dict)
