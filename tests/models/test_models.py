"""GAT classifier and VGAE: shapes, finiteness, gradients, batching, sizes and the scales."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.data import Batch, Data

from kd_gat.models import GATClassifier, build_model, count_parameters
from kd_gat.models.vgae import sample_non_edges
from kd_gat.params.training import VGAELossParams
from kd_gat.training.losses import ClassificationLoss, VGAELoss
from tests.synthetic import architecture, synthetic_windows

SIZES = {"num_ids": 32, "node_dim": 6, "edge_dim": 3}
# with the CAN-ID embedding (off by default) so that its code path is tested; `can_ids=False`
# overrides it where the tests compare
GAT = {"hidden": 16, "heads": 2, "layers": 3, "embed_dim": 4, "dropout": 0.0, "can_ids": True}
VGAE = {"hidden": 16, "heads": 2, "layers": 2, "embed_dim": 4, "latent": 8, "dropout": 0.0}
VGAE |= {"can_ids": True}


@pytest.fixture
def windows():
    return synthetic_windows(6, attack_rate=0.5, nodes=(5, 12), seed=3, **SIZES)


@pytest.fixture
def batch(windows):
    return Batch.from_data_list(windows)


def make(kind: str, **overrides):
    torch.manual_seed(0)
    keys = {**(GAT if kind == "gat" else VGAE), **overrides}
    return build_model(kind, architecture(kind, **keys), **SIZES)


def training_loss(model, batch):
    if model.kind == "gat":
        return ClassificationLoss()(model(batch), batch).loss
    return VGAELoss(VGAELossParams())(model(batch), batch).loss


def test_gat_shapes_and_embedding(batch):
    model = make("gat").eval()
    logits = model(batch)
    assert logits.shape == (batch.num_graphs, 2)
    assert model.embed(batch).shape == (batch.num_graphs, model.embedding_dim)
    assert torch.isfinite(logits).all()


def test_vgae_outputs(batch):
    model = make("vgae").train()
    out = model(batch)
    assert out.mu.shape == out.logvar.shape == (batch.num_nodes, VGAE["latent"])
    assert out.x_hat.shape == batch.x.shape
    assert out.id_logits.shape == (batch.num_nodes, SIZES["num_ids"])
    assert out.pos_edge_logits.shape == (batch.num_edges,)
    assert out.neg_edge_logits is not None
    assert model.eval()(batch).neg_edge_logits is None
    for t in (out.mu, out.logvar, out.x_hat, out.id_logits, out.pos_edge_logits):
        assert torch.isfinite(t).all()


@pytest.mark.parametrize("kind", ["gat", "vgae"])
def test_gradients_reach_every_parameter(kind, batch):
    model = make(kind).train()
    training_loss(model, batch).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("kind", ["gat", "vgae"])
def test_batching_does_not_change_a_window_output(kind, windows, batch):
    """A window scores the same alone (no `batch` vector, as at inference) as inside a batch."""
    model = make(kind).eval()
    score = model if kind == "gat" else model.anomaly_score
    batched = score(batch)
    alone = torch.cat([score(w).reshape(1, -1) for w in windows]).reshape(batched.shape)
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)


def test_anomaly_score_is_deterministic_and_nonnegative(batch):
    model = make("vgae").eval()
    first, second = model.anomaly_score(batch), model.anomaly_score(batch)
    assert torch.equal(first, second)
    assert first.shape == (batch.num_graphs,)
    assert (first >= 0).all()
    assert set(model.anomaly_components(batch)) == {"feature", "can_id", "edge"}


def test_gat_attention_uses_edge_features(batch):
    model = make("gat").eval()
    changed = batch.clone()
    changed.edge_attr = changed.edge_attr + 5.0
    assert not torch.allclose(model(batch), model(changed))


@pytest.mark.parametrize("layers", [1, 2, 4, 6])
def test_jk_projection_keeps_head_width(layers):
    """JK-concat width grows with depth; the head input stays 2·hidden."""
    model = make("gat", layers=layers)
    assert model.head[0].in_features == 2 * GAT["hidden"]


@pytest.mark.parametrize(("kind", "per_extra_id"), [("gat", 4), ("vgae", 4 + 16 + 1)])
def test_parameter_count_follows_vocabulary(kind, per_extra_id):
    """Each extra CAN ID adds one embedding row (and, for the VGAE, one ID-decoder output)."""
    base = count_parameters(make(kind))
    cfg = GAT if kind == "gat" else VGAE
    bigger = build_model(
        kind, architecture(kind, **cfg), **{**SIZES, "num_ids": SIZES["num_ids"] + 10}
    )
    assert count_parameters(bigger) - base == 10 * per_extra_id


def test_parameter_count_grows_with_config():
    counts = [count_parameters(make("gat", hidden=h)) for h in (8, 16, 32)]
    assert counts == sorted(counts)
    assert count_parameters(make("gat", layers=4)) > count_parameters(make("gat", layers=3))


def test_unknown_kind_and_bad_heads_fail():
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model("mlp", {}, **SIZES)
    with pytest.raises(ValueError, match="multiple of heads"):
        GATClassifier(**SIZES, **{**architecture("gat", **GAT), "hidden": 10, "heads": 3})


@settings(max_examples=15, deadline=None)
@given(
    n_nodes=st.integers(1, 12),
    n_edges=st.integers(0, 30),
    seed=st.integers(0, 2**16),
)
def test_outputs_finite_on_any_small_graph(n_nodes, n_edges, seed):
    """Single nodes, no edges, self-loops, repeated edges, OOV ids: outputs stay finite."""
    g = torch.Generator().manual_seed(seed)
    data = Data(
        x=torch.randn(n_nodes, SIZES["node_dim"], generator=g),
        node_id=torch.randint(0, SIZES["num_ids"], (n_nodes,), generator=g),
        edge_index=torch.randint(0, n_nodes, (2, n_edges), generator=g),
        edge_attr=torch.randn(n_edges, SIZES["edge_dim"], generator=g),
        y=torch.tensor([0]),
    )
    gat, vgae = make("gat").eval(), make("vgae").eval()
    assert torch.isfinite(gat(data)).all()
    assert torch.isfinite(vgae.anomaly_score(data)).all()
    vgae.train()
    assert torch.isfinite(VGAELoss(VGAELossParams())(vgae(data), data).loss)


def test_sampled_non_edges_stay_in_their_graph_and_are_not_edges(batch):
    torch.manual_seed(0)
    neg = sample_non_edges(batch.edge_index, batch.batch, batch.num_graphs)
    assert neg.shape[0] == 2
    assert 0 < neg.shape[1] <= batch.num_edges
    assert torch.equal(batch.batch[neg[0]], batch.batch[neg[1]])
    assert (neg[0] != neg[1]).all()
    observed = set(map(tuple, batch.edge_index.t().tolist()))
    assert not observed & set(map(tuple, neg.t().tolist()))


@pytest.mark.parametrize("kind", ["gat", "vgae"])
def test_without_can_ids_the_model_ignores_which_id_a_node_carries(kind, batch):
    model = make(kind, can_ids=False).eval()
    assert not any(
        "embedding" in name or "id_decoder" in name for name, _ in model.named_parameters()
    )
    relabelled = batch.clone()
    relabelled.node_id = torch.randint(0, SIZES["num_ids"], batch.node_id.shape)
    with torch.no_grad():
        a, b = model.window_outputs(batch), model.window_outputs(relabelled)
    torch.testing.assert_close(a["score"], b["score"])
    # With the embedding, the same relabelling changes the scores.
    with_ids = make(kind).eval()
    with torch.no_grad():
        c, d = with_ids.window_outputs(batch), with_ids.window_outputs(relabelled)
    assert not torch.allclose(c["score"], d["score"])
    if kind == "vgae":
        assert (a["vgae_can_id"] == 0).all()
        assert training_loss(make(kind, can_ids=False).train(), batch).isfinite()


def test_gat_node_score_of_a_lone_node_is_its_windows_probability(windows):
    model = make("gat").eval()
    batch = Batch.from_data_list(windows)
    scores = model.node_scores(batch)
    assert scores.shape == (batch.num_nodes,)
    assert ((scores >= 0) & (scores <= 1)).all()
    # a window of one node: mean = max pooling = the node's state
    single = windows[0].subgraph(torch.tensor([0]))
    lone = Batch.from_data_list([single])
    torch.testing.assert_close(
        model.node_scores(lone), model.attack_probability(model(lone)).reshape(1)
    )


def test_vgae_node_scores_point_at_the_node_that_does_not_fit(windows):
    model = make("vgae").eval()
    window = windows[0].clone()
    baseline = model.node_scores(Batch.from_data_list([window]))
    assert baseline.shape == (window.num_nodes,)
    assert torch.isfinite(baseline).all()
    window.x = window.x.clone()
    window.x[3] += 50.0  # one node's features far from anything the decoder produces
    scores = model.node_scores(Batch.from_data_list([window]))
    assert int(scores.argmax()) == 3
    # in eval mode the scores are deterministic
    torch.testing.assert_close(scores, model.node_scores(Batch.from_data_list([window])))
