"""Causality of what a detector reports: appending frames to a capture never changes an earlier
window's node scores, window score (persisted over windows in a row, too) or decision at a fixed
threshold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kd_gat.graphs.builder import build_store
from kd_gat.models import build_model
from kd_gat.scoring import detector_outputs, node_outputs
from tests.graphs.factory import random_frames
from tests.synthetic import architecture

SIZE = 8


@pytest.mark.parametrize(
    ("kind", "persistence"), [("vgae", 1), ("vgae", 2), ("gat", 1), ("gat", 3)]
)
def test_appending_frames_changes_no_earlier_score_or_decision(kind: str, persistence: int) -> None:
    table = random_frames(np.random.default_rng(5), [160], n_ids=9)
    vocabulary = np.unique(table["can_id"])[::2].astype(np.int64)
    head = table.iloc[:90].reset_index(drop=True)
    short, full = (build_store(t, vocabulary, SIZE, SIZE, "drop", 1)[0] for t in (head, table))
    torch.manual_seed(0)
    keys = {"hidden": 8, "heads": 2, "layers": 2, "embed_dim": 4, "dropout": 0.0}
    if kind == "vgae":
        keys["latent"] = 4
    model = build_model(
        kind,
        architecture(kind, **keys),
        num_ids=short.num_ids,
        node_dim=short.x.shape[1],
        edge_dim=short.edge_attr.shape[1],
    ).eval()
    stores = {"short": short, "full": full}
    windows = detector_outputs(model, stores, batch_size=4, persistence=persistence)
    nodes = node_outputs(model, stores, batch_size=4)
    n = len(short)
    np.testing.assert_allclose(
        windows["short"]["score"], windows["full"]["score"][:n], rtol=1e-5, atol=1e-6
    )
    m = short.node_ptr[-1]
    np.testing.assert_allclose(
        nodes["short"]["node_score"], nodes["full"]["node_score"][:m], rtol=1e-5, atol=1e-6
    )
    threshold = float(np.median(windows["full"]["score"]))
    decided = windows["full"]["score"].to_numpy() >= threshold
    assert ((windows["short"]["score"].to_numpy() >= threshold) == decided[:n]).all()
