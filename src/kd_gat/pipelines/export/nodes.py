"""Export nodes: the deployed detector's models as ONNX, checked against PyTorch, in a bundle.

Which detector: the one batch inference deploys (globals `inference.detector`), loaded by the
catalog's `inference_models` (one model, or a pair's VGAE and GAT for `<pair>.alarm_or`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import nn

from kd_gat import roster
from kd_gat.bundle import make_manifest, sha256
from kd_gat.deployment import deployed_name
from kd_gat.graphs.store import GraphStore
from kd_gat.models import count_parameters
from kd_gat.models.export import batch_inputs, export_onnx
from kd_gat.params.export import ExportParams
from kd_gat.params.graphs import GraphsParams
from kd_gat.params.inference import InferenceParams
from kd_gat.params.profiles import ProfilesParams
from kd_gat.params.scoring import ScoringParams

log = logging.getLogger(__name__)


def _members(models: dict[str, nn.Module], inference: dict[str, Any]) -> list[str]:
    detector = deployed_name(InferenceParams.model_validate(inference).detector, models)
    members = list(roster.deployed_members(detector))
    missing = sorted(set(members) - set(models))
    if missing:
        raise ValueError(f"exporting {detector!r} needs the models {missing}")
    return members


def export_models(
    models: dict[str, nn.Module], graphs_val: GraphStore, inference: dict[str, Any]
) -> dict[str, bytes]:
    """Each member of the deployed detector as ONNX (`kd_gat.models.export.export_onnx`), traced
    on two validation windows; the node, edge and window counts stay free."""
    if len(graphs_val) < 2:
        raise ValueError("the export needs at least two validation windows to trace the model")
    example = graphs_val.batch([0, 1])
    out = {}
    for name in _members(models, inference):
        out[name] = export_onnx(models[name].eval(), example)
        log.info("%s exported to ONNX: %.1f KB", name, len(out[name]) / 1024)
    return out


def _run_onnx(session, batch) -> tuple[np.ndarray, np.ndarray]:
    names = [i.name for i in session.get_inputs()]
    return tuple(session.run(None, dict(zip(names, batch_inputs(batch), strict=True))))


def check_parity(
    onnx_models: dict[str, bytes],
    models: dict[str, nn.Module],
    graphs_val: GraphStore,
    params: dict[str, Any],
) -> dict[str, Any]:
    """onnxruntime against PyTorch on every validation window (in batches of `batch_size`, and
    the first `single_windows` one per call): the largest absolute difference of the window and
    node scores per member. Raises when one exceeds `parity_tolerance`."""
    import onnxruntime as ort

    p = ExportParams.model_validate(params)
    report: dict[str, Any] = {"windows": len(graphs_val), "tolerance": p.parity_tolerance}
    n = len(graphs_val)
    batches = [np.arange(a, min(a + p.batch_size, n)) for a in range(0, n, p.batch_size)]
    batches += [np.array([i]) for i in range(min(p.single_windows, n))]
    for name, content in onnx_models.items():
        model = models[name].eval()
        session = ort.InferenceSession(content, providers=["CPUExecutionProvider"])
        worst = np.zeros(2)
        with torch.inference_mode():
            for rows in batches:  # a loop over batches of windows
                batch = graphs_val.batch(rows)
                expected = [t.numpy() for t in model.detect(batch)]
                got = _run_onnx(session, batch)
                for k in range(2):
                    worst[k] = max(worst[k], float(np.max(np.abs(got[k] - expected[k]))))
        report[name] = {
            "max_abs_score": worst[0],
            "max_abs_node_score": worst[1],
            "batches": len(batches),
        }
        log.info("%s parity on %d windows: max |Δ| score %.2e, node %.2e", name, n, *worst)
        if not np.all(worst <= p.parity_tolerance):
            raise ValueError(
                f"{name}: ONNX and PyTorch scores differ by up to {worst.max():.3g} on the "
                f"validation windows (tolerance {p.parity_tolerance:g})"
            )
    return report


def make_bundle(
    onnx_models: dict[str, bytes],
    parity: dict[str, Any],
    models: dict[str, nn.Module],
    vocabulary: dict[str, Any],
    feature_stats: dict[str, Any],
    graphs_val: GraphStore,
    graphs: dict[str, Any],
    profiles_params: dict[str, Any],
    vehicle_profiles: dict[str, Any],
    profile_thresholds,
    profile_node_thresholds,
    zero_shot_thresholds,
    inference: dict[str, Any],
    dataset: str,
    scoring: dict[str, Any],
) -> dict[str, Any]:
    """The bundle (`kd_gat.datasets.bundle.DetectorBundleDataset`): manifest + ONNX files."""
    g = GraphsParams.model_validate(graphs)
    steps = ScoringParams.model_validate(scoring).steps
    matching = ProfilesParams.model_validate(profiles_params)
    members = {}
    for name, content in onnx_models.items():
        members[name] = {
            "kind": models[name].kind,
            "persistence": steps(models[name].kind),
            "file": f"{name}.onnx",
            "sha256": sha256(content),
            "bytes": len(content),
            "parameters": count_parameters(models[name]),
            "fingerprint": models[name].fingerprint,
        }
    manifest = make_manifest(
        detector=deployed_name(InferenceParams.model_validate(inference).detector, models),
        members=members,
        graphs={
            "window_size": g.window_size,
            "stride": g.stride,
            "tail_policy": g.tail_policy,
            "node_features": list(graphs_val.node_features),
            "edge_features": list(graphs_val.edge_features),
            "max_tracked_ids": g.max_tracked_ids,
            "known_after": g.known_after,
        },
        feature_stats=feature_stats,
        vocabulary=vocabulary,
        profiles=vehicle_profiles["profiles"],
        matching={
            "match_seconds": matching.match_seconds,
            "min_count": matching.min_count,
            "min_jaccard": matching.min_jaccard,
        },
        thresholds={
            "profile": profile_thresholds.to_dict("records"),
            "node": profile_node_thresholds.to_dict("records"),
            "zero_shot": zero_shot_thresholds.to_dict("records"),
        },
        parity=parity,
        provenance={"dataset": dataset, "fingerprint": graphs_val.fingerprint},
        warmup_s=matching.warmup_s,
    )
    return {"manifest": manifest, "models": {m["file"]: onnx_models[n] for n, m in members.items()}}
