"""Knowledge-distillation losses: hand computations and learning from a frozen teacher."""

import math

import pytest
import torch
from torch_geometric.loader import DataLoader

from kd_gat.models import build_model
from kd_gat.params.distillation import GATDistillationParams, VGAEDistillationParams
from kd_gat.params.training import VGAELossParams
from kd_gat.training.distillation import LatentDistillation, SoftLabelDistillation, soft_label_kl
from kd_gat.training.losses import ClassificationLoss, VGAELoss
from tests.synthetic import architecture, synthetic_windows


class _Batch:
    def __init__(self, y):
        self.y = torch.tensor(y)


def test_soft_label_loss_equals_hand_computation() -> None:
    student = torch.tensor([[2.0, -1.0], [0.5, 0.3], [-1.0, 1.5]])
    teacher = torch.tensor([[3.0, 0.0], [-0.5, 1.0], [0.0, 0.2]])
    y = [0, 1, 1]
    alpha, temp = 0.7, 4.0

    def softmax(row, t):
        e = [math.exp(v / t) for v in row]
        return [v / sum(e) for v in e]

    kl = 0.0
    for s_row, t_row in zip(student.tolist(), teacher.tolist(), strict=True):
        ps, pt = softmax(s_row, temp), softmax(t_row, temp)
        kl += sum(t * math.log(t / s) for t, s in zip(pt, ps, strict=True))
    kl /= 3
    ce = -sum(math.log(softmax(r, 1.0)[c]) for r, c in zip(student.tolist(), y, strict=True)) / 3
    expected = alpha * temp**2 * kl + (1 - alpha) * ce

    loss = SoftLabelDistillation(
        ClassificationLoss(), GATDistillationParams(alpha=alpha, temperature=temp)
    )(student, _Batch(y), teacher)
    assert loss.loss.item() == pytest.approx(expected, rel=1e-5)
    assert loss.parts["kd_kl"].item() == pytest.approx(kl, rel=1e-5)
    assert soft_label_kl(teacher, teacher, temp).item() == pytest.approx(0.0, abs=1e-7)


def _gat(scale_hidden: int, num_ids: int, seed: int):
    torch.manual_seed(seed)
    cfg = {"hidden": scale_hidden, "heads": 2, "layers": 2, "embed_dim": 4, "dropout": 0.0}
    return build_model("gat", architecture("gat", **cfg), num_ids=num_ids, node_dim=8, edge_dim=4)


def test_student_kl_to_the_teacher_falls_during_distillation() -> None:
    graphs = synthetic_windows(64, num_ids=32, seed=1)
    teacher = _gat(32, 32, seed=0).eval().requires_grad_(False)
    student = _gat(8, 32, seed=1)
    loss_fn = SoftLabelDistillation(
        ClassificationLoss(), GATDistillationParams(alpha=1.0, temperature=4.0)
    )
    opt = torch.optim.Adam(student.parameters(), lr=1e-2)
    loader = DataLoader(graphs, batch_size=64)
    batch = next(iter(loader))

    def kl_now() -> float:
        with torch.no_grad():
            return soft_label_kl(student.eval()(batch), teacher(batch), 4.0).item()

    before = kl_now()
    student.train()
    for _ in range(40):
        out = loss_fn(student(batch), batch, teacher(batch))
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert kl_now() < 0.5 * before


def test_latent_distillation_matches_teacher_latents() -> None:
    graphs = synthetic_windows(32, num_ids=32, seed=2)
    batch = next(iter(DataLoader(graphs, batch_size=32)))
    torch.manual_seed(0)
    vgae = {"heads": 2, "layers": 2, "embed_dim": 4, "dropout": 0.0}
    teacher = build_model(
        "vgae",
        architecture("vgae", **vgae, hidden=32, latent=16),
        num_ids=32,
        node_dim=8,
        edge_dim=4,
    )
    student = build_model(
        "vgae", architecture("vgae", **vgae, hidden=8, latent=4), num_ids=32, node_dim=8, edge_dim=4
    )
    teacher.eval().requires_grad_(False)
    loss_fn = LatentDistillation(
        VGAELoss(VGAELossParams()), 4, 16, VGAEDistillationParams(alpha=1.0)
    )
    params = list(student.parameters()) + list(loss_fn.parameters())
    opt = torch.optim.Adam(params, lr=1e-2)
    t_out = teacher(batch)
    first = None
    student.train()
    for _ in range(40):
        out = loss_fn(student(batch), batch, t_out)
        first = first if first is not None else out.parts["kd_latent"].item()
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert out.parts["kd_latent"].item() < 0.5 * first
    # with α = 0 the loss is the task loss alone
    plain = LatentDistillation(VGAELoss(VGAELossParams()), 4, 16, VGAEDistillationParams(alpha=0.0))
    torch.manual_seed(3)
    s_out = student.eval()(batch)
    assert plain(s_out, batch, t_out).loss.item() == pytest.approx(
        VGAELoss(VGAELossParams())(s_out, batch).loss.item()
    )


def test_the_transfer_term_is_the_distillation_part_without_labels() -> None:
    """What unlabelled profile windows teach: the loss on labelled windows minus its task part,
    and it does not read a label."""
    student = torch.tensor([[2.0, -1.0], [0.5, 0.3]])
    teacher = torch.tensor([[3.0, 0.0], [-0.5, 1.0]])
    gat = SoftLabelDistillation(ClassificationLoss(), GATDistillationParams(alpha=0.7))
    labelled = gat(student, _Batch([0, 1]), teacher)
    task = ClassificationLoss()(student, _Batch([0, 1])).loss
    transfer = gat.transfer(student, None, teacher)  # no batch, no label
    assert transfer.item() == pytest.approx((labelled.loss - 0.3 * task).item(), rel=1e-5)

    graphs = synthetic_windows(16, num_ids=32, seed=2)
    batch = next(iter(DataLoader(graphs, batch_size=16)))
    cfg = {"heads": 2, "layers": 1, "embed_dim": 4, "dropout": 0.0}
    torch.manual_seed(0)
    teacher_vgae, student_vgae = (
        build_model("vgae", architecture("vgae", **cfg, hidden=h, latent=z), num_ids=32,
                    node_dim=8, edge_dim=4).eval()
        for h, z in ((16, 8), (8, 4))
    )  # fmt: skip
    vgae = LatentDistillation(VGAELoss(VGAELossParams()), 4, 8, VGAEDistillationParams(alpha=0.4))
    s_out, t_out = student_vgae(batch), teacher_vgae(batch)
    out = vgae(s_out, batch, t_out)
    task = VGAELoss(VGAELossParams())(s_out, batch).loss
    assert vgae.transfer(s_out, None, t_out).item() == pytest.approx(
        (out.loss - 0.6 * task).item(), rel=1e-4
    )
