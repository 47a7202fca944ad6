"""Graph tensor store: every window's graph in a few concatenated arrays plus offsets.

Node rows of window i are `node_ptr[i]:node_ptr[i+1]`, edge columns `edge_ptr[i]:edge_ptr[i+1]`;
`edge_index` holds node indices local to the window. Item i is a PyG `Data` (fields in
docs/interfaces.md), so a store plugs straight into `torch_geometric.loader.DataLoader`;
`store.batch(indices)` builds the same `Batch` with array operations, ~10x faster.
Saved as one uncompressed .npz without pickle: strings become numpy unicode arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Batch, Data

from kd_gat.graphs.windows import offsets, ranges

WINDOW_COLUMNS = (
    "capture",
    "scenario",
    "attack_kind",
    "start_row",
    "end_row",
    "start_time",
    "end_time",
    "n_frames",
    "n_attack_frames",
    "label",
)
_TEXT_COLUMNS = ("capture", "scenario", "attack_kind")
_WINDOWS_PREFIX = "windows."


def _drop_unused_categories(table: pd.DataFrame) -> pd.DataFrame:
    for column in _TEXT_COLUMNS:
        if column in table and isinstance(table[column].dtype, pd.CategoricalDtype):
            table[column] = table[column].cat.remove_unused_categories()
    return table


@dataclass(frozen=True, eq=False)
class GraphStore:
    """All graphs of one split. `node_id` and `edge_index` are kept as int32 (compact) and
    handed out as int64; `windows` has one row per graph (columns `WINDOW_COLUMNS`)."""

    x: np.ndarray  # float32 (n_nodes, F_node)
    node_id: np.ndarray  # int32 (n_nodes,)
    edge_index: np.ndarray  # int32 (2, n_edges), local to the window
    edge_attr: np.ndarray  # float32 (n_edges, F_edge)
    node_ptr: np.ndarray  # int64 (n_windows + 1,)
    edge_ptr: np.ndarray  # int64 (n_windows + 1,)
    windows: pd.DataFrame
    node_features: tuple[str, ...]
    edge_features: tuple[str, ...]
    num_ids: int
    fingerprint: str = ""  # of the feature statistics that normalised it (`kd_gat.fingerprint`)

    def __post_init__(self) -> None:
        n = len(self.windows)
        if len(self.node_ptr) != n + 1 or len(self.edge_ptr) != n + 1:
            raise ValueError("node_ptr and edge_ptr need one entry per window plus one")
        if self.x.shape != (self.node_ptr[-1], len(self.node_features)):
            raise ValueError(f"x has shape {self.x.shape}, expected node_ptr/node_features")
        if self.edge_attr.shape != (self.edge_ptr[-1], len(self.edge_features)):
            raise ValueError(f"edge_attr has shape {self.edge_attr.shape}")
        if self.node_id.shape != (self.x.shape[0],) or self.edge_index.shape != (
            2,
            self.edge_attr.shape[0],
        ):
            raise ValueError("node_id / edge_index do not match x / edge_attr")

        object.__setattr__(
            self, "_labels", self.windows["label"].to_numpy(dtype=np.int64, copy=True)
        )

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def y(self) -> np.ndarray:
        """Window labels (int64, 1 = attack)."""
        return self._labels.copy()

    def __getitem__(self, i: int) -> Data:
        """Graph i as a PyG `Data`; its float tensors share memory with the store."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"graph {i} out of range for a store of {n}")
        i = int(i) % n
        a, b = self.node_ptr[i], self.node_ptr[i + 1]
        c, d = self.edge_ptr[i], self.edge_ptr[i + 1]
        return Data(
            x=torch.from_numpy(self.x[a:b]),
            node_id=torch.from_numpy(self.node_id[a:b].astype(np.int64)),
            edge_index=torch.from_numpy(self.edge_index[:, c:d].astype(np.int64)),
            edge_attr=torch.from_numpy(self.edge_attr[c:d]),
            y=torch.from_numpy(self._labels[i : i + 1]),
            window=torch.tensor([i], dtype=torch.int64),
        )

    def _rows(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, ...]:
        """Graph indices (checked, non-negative), their node/edge counts and node/edge rows."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError("graph index out of range")
        idx = idx % max(len(self), 1)
        node_count = self.node_ptr[idx + 1] - self.node_ptr[idx]
        edge_count = self.edge_ptr[idx + 1] - self.edge_ptr[idx]
        nodes = ranges(self.node_ptr[idx], node_count)
        edges = ranges(self.edge_ptr[idx], edge_count)
        return idx, node_count, edge_count, nodes, edges

    def select(self, indices: Sequence[int] | np.ndarray) -> GraphStore:
        """A new store holding the given graphs, in the given order."""
        idx, node_count, edge_count, nodes, edges = self._rows(indices)
        return replace(
            self,
            x=self.x[nodes],
            node_id=self.node_id[nodes],
            edge_index=self.edge_index[:, edges],
            edge_attr=self.edge_attr[edges],
            node_ptr=offsets(node_count),
            edge_ptr=offsets(edge_count),
            windows=_drop_unused_categories(self.windows.iloc[idx].reset_index(drop=True)),
        )

    def batch(self, indices: Sequence[int] | np.ndarray) -> Batch:
        """The PyG `Batch` of the given graphs, built with array operations (no `Data` per graph).

        Same tensors as `Batch.from_data_list([store[i] for i in indices])`, much faster; use it
        as `DataLoader(range(len(store)), batch_size=..., collate_fn=store.batch)`.
        """
        idx, node_count, edge_count, nodes, edges = self._rows(indices)
        node_ptr = offsets(node_count)
        edge_index = self.edge_index[:, edges].astype(np.int64)
        edge_index += np.repeat(node_ptr[:-1], edge_count)
        batch = Batch(
            x=torch.from_numpy(self.x[nodes]),
            node_id=torch.from_numpy(self.node_id[nodes].astype(np.int64)),
            edge_index=torch.from_numpy(edge_index),
            edge_attr=torch.from_numpy(self.edge_attr[edges]),
            y=torch.from_numpy(self._labels[idx]),
            window=torch.from_numpy(idx),
            batch=torch.from_numpy(np.repeat(np.arange(len(idx), dtype=np.int64), node_count)),
            ptr=torch.from_numpy(node_ptr),
        )
        batch._num_graphs = len(idx)
        return batch

    def with_features(self, x: np.ndarray, edge_attr: np.ndarray) -> GraphStore:
        """The same graphs with replaced node/edge feature matrices (e.g. normalised)."""
        return replace(
            self, x=np.asarray(x, dtype=np.float32), edge_attr=np.asarray(edge_attr, np.float32)
        )

    def save(self, file: str | Path | BinaryIO) -> None:
        """Write as .npz (no pickle); a path is written as given, without adding `.npz`."""
        arrays = {
            "x": self.x,
            "node_id": self.node_id,
            "edge_index": self.edge_index,
            "edge_attr": self.edge_attr,
            "node_ptr": self.node_ptr,
            "edge_ptr": self.edge_ptr,
            "node_features": np.array(self.node_features, dtype=np.str_),
            "edge_features": np.array(self.edge_features, dtype=np.str_),
            "num_ids": np.array(self.num_ids, dtype=np.int64),
            "fingerprint": np.array(self.fingerprint, dtype=np.str_),
            "windows_columns": np.array(list(self.windows.columns), dtype=np.str_),
        }
        for column in self.windows.columns:
            values = self.windows[column]
            if column in _TEXT_COLUMNS:  # categorical: codes + category names, order kept
                values = values.astype("category")
                arrays[f"{_WINDOWS_PREFIX}{column}.codes"] = values.cat.codes.to_numpy()
                arrays[f"{_WINDOWS_PREFIX}{column}.categories"] = np.array(
                    values.cat.categories, dtype=np.str_
                )
            else:
                arrays[_WINDOWS_PREFIX + column] = values.to_numpy()
        if isinstance(file, str | Path):
            with open(file, "wb") as handle:
                np.savez(handle, allow_pickle=False, **arrays)
        else:
            np.savez(file, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, file: str | Path | BinaryIO) -> GraphStore:
        """Read a store written by `save`."""
        with np.load(file, allow_pickle=False) as data:
            columns = [str(c) for c in data["windows_columns"]]
            windows = pd.DataFrame(
                {
                    c: (
                        pd.Categorical.from_codes(
                            data[f"{_WINDOWS_PREFIX}{c}.codes"],
                            categories=data[f"{_WINDOWS_PREFIX}{c}.categories"].tolist(),
                        )
                        if c in _TEXT_COLUMNS
                        else data[_WINDOWS_PREFIX + c]
                    )
                    for c in columns
                },
                columns=columns,
            )
            return cls(
                x=data["x"],
                node_id=data["node_id"],
                edge_index=data["edge_index"],
                edge_attr=data["edge_attr"],
                node_ptr=data["node_ptr"],
                edge_ptr=data["edge_ptr"],
                windows=windows,
                node_features=tuple(str(f) for f in data["node_features"]),
                edge_features=tuple(str(f) for f in data["edge_features"]),
                num_ids=int(data["num_ids"]),
                fingerprint=str(data["fingerprint"]) if "fingerprint" in data else "",
            )
