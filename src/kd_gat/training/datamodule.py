"""LightningDataModule over graph stores (any sequence of PyG `Data` windows)."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler
from torch_geometric.data import Batch, Data

from kd_gat.balance import sample_weights


def graph_labels(dataset: Sequence[Data]) -> np.ndarray:
    """Window labels (0/1): the store's label array `y` when it has one, else read item by item."""
    labels = getattr(dataset, "y", None)
    if labels is not None:
        return np.asarray(labels, dtype=np.int64).reshape(-1)
    return np.fromiter((int(dataset[i].y) for i in range(len(dataset))), np.int64, len(dataset))


def data_sizes(dataset: Sequence[Data]) -> dict[str, int]:
    """`num_ids`, `node_dim`, `edge_dim` of a graph store (vocabulary size from `num_ids`)."""
    first = dataset[0]
    num_ids = getattr(dataset, "num_ids", None)
    if num_ids is None:
        num_ids = 1 + max(int(dataset[i].node_id.max()) for i in range(len(dataset)))
    edge_attr = getattr(first, "edge_attr", None)
    return {
        "num_ids": int(num_ids),
        "node_dim": int(first.x.shape[1]),
        "edge_dim": 0 if edge_attr is None else int(edge_attr.shape[1]),
    }


class StoreCollate:
    """Batch a list of window indices of `store`: with the store's vectorised `batch(indices)`
    when it has one (`GraphStore`: ~10× faster than a `Data` per window), else PyG's
    `Batch.from_data_list`. A class, not a closure, so DataLoader workers can pickle it."""

    def __init__(self, store: Sequence[Data]) -> None:
        self.store = store

    def __call__(self, indices: list[int]) -> Batch:
        batch = getattr(self.store, "batch", None)
        if callable(batch):
            return batch(indices)
        return Batch.from_data_list([self.store[i] for i in indices])


def graph_loader(
    store: Sequence[Data], indices: Sequence[int] | None = None, *, batch_size: int, **kwargs
) -> DataLoader:
    """DataLoader of `Batch`es over `indices` (default: every window) of a graph store."""
    positions = list(range(len(store))) if indices is None else [int(i) for i in indices]
    return DataLoader(positions, batch_size=batch_size, collate_fn=StoreCollate(store), **kwargs)


def balanced_sampler(labels: np.ndarray, seed: int) -> WeightedRandomSampler:
    """Draw len(labels) windows with replacement, each class with equal probability."""
    weights = sample_weights(labels)
    generator = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(
        torch.as_tensor(weights, dtype=torch.double), len(labels), generator=generator
    )


class GraphDataModule(L.LightningDataModule):
    """Train/val loaders of window graphs.

    `normal_only` trains on label-0 windows only (the VGAE); validation always sees every
    window. `balanced` replaces shuffling by a class-balanced sampler. Shuffling and sampling
    use generators seeded by `seed`. `profile`: unlabelled windows a student also learns its
    teacher's outputs on; when it holds any, a training batch is `{"train": …, "profile": …}`
    (Lightning cycles the shorter loader).
    """

    def __init__(
        self,
        train: Sequence[Data],
        val: Sequence[Data],
        *,
        batch_size: int,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        normal_only: bool = False,
        balanced: bool = False,
        seed: int,
        profile: Sequence[Data] | None = None,
    ) -> None:
        super().__init__()
        labels = graph_labels(train)
        indices = np.flatnonzero(labels == 0) if normal_only else np.arange(len(labels))
        if len(indices) == 0:
            raise ValueError("no training windows (normal_only with no normal window?)")
        self.train_store, self.val_store = train, val
        self.train_indices, self.train_labels = indices, labels[indices]
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.balanced = balanced
        self.seed = seed
        self.profile_store = profile if profile is not None and len(profile) else None

    def _loader(self, store, indices, batch_size: int, **kwargs) -> DataLoader:
        return graph_loader(
            store,
            indices,
            batch_size=batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader | dict[str, DataLoader]:
        if self.balanced:
            sampler = balanced_sampler(self.train_labels, self.seed)
            train = self._loader(
                self.train_store, self.train_indices, self.batch_size, sampler=sampler
            )
        else:
            generator = torch.Generator().manual_seed(self.seed)
            train = self._loader(
                self.train_store,
                self.train_indices,
                self.batch_size,
                shuffle=True,
                generator=generator,
            )
        if self.profile_store is None:
            return train
        generator = torch.Generator().manual_seed(self.seed + 1)
        profile = self._loader(
            self.profile_store, None, self.batch_size, shuffle=True, generator=generator
        )
        return {"train": train, "profile": profile}

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_store, None, self.eval_batch_size)
