"""The exported detector: ONNX models plus everything that turns raw frames into decisions.

A bundle is a folder (`kedro run --pipelines export` writes `data/06_models/<dataset>/export/`):

- `<member>.onnx`: each model the deployed detector runs (one, or the VGAE and GAT of a pair's
  alarm-level OR), as `kd_gat.models.export.Detector`: window graphs in, a score per window and
  per node out (`inputs`/`outputs` in the manifest say shapes, types and meaning);
- `detector.json`, the manifest: the detector and its rule, the graph parameters (window size,
  stride, node and edge features in model order, per-ID state bound), the feature statistics
  that standardise them, the CAN-ID vocabulary, the vehicle profiles with the matching rule, and
  each member's thresholds (per profile and zero-shot; window and node), the parity check and
  the provenance (dataset, feature fingerprint).

`ExportedDetector` runs a bundle with numpy and onnxruntime only (no torch, PyG or Kedro): raw
graph arrays (`kd_gat.graphs`) in, the decision of every window and the IDs it implicates out,
by the rule batch inference applies (`kd_gat.pipelines.inference.nodes`): a window takes each
member's threshold on its car's profile once the capture is matched and the window ends after
`matched_from` (calibrated), the zero-shot threshold otherwise; a window that ends within its
capture's first `warmup_s` raises no alarm; a pair flags a window when either member does, each
at half its car's budget once calibrated; a flagged window implicates the IDs whose node score
reaches the node threshold, or its top node when none does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kd_gat.persistence import follows, persist

FORMAT = 1
MANIFEST = "detector.json"
ALARM_OR = "alarm_or"
INPUT_DOC = [
    {"name": "x", "dtype": "float32", "shape": ["nodes", "node_features"],
     "meaning": "standardised node features (manifest graphs.node_features, feature_stats.node)"},
    {"name": "node_id", "dtype": "int64", "shape": ["nodes"],
     "meaning": "vocabulary index of each node's CAN ID; unknown IDs take vocabulary.oov_index"},
    {"name": "edge_index", "dtype": "int64", "shape": [2, "edges"],
     "meaning": "source and target node of each edge, numbered across the batch"},
    {"name": "edge_attr", "dtype": "float32", "shape": ["edges", "edge_features"],
     "meaning": "standardised edge features (graphs.edge_features, feature_stats.edge)"},
    {"name": "batch", "dtype": "int64", "shape": ["nodes"],
     "meaning": "the window (0 .. windows-1) of each node; nodes of a window are contiguous"},
    {"name": "window_index", "dtype": "int64", "shape": ["windows"],
     "meaning": "arange(windows): its length is the number of windows in the batch"},
]  # fmt: skip
OUTPUT_DOC = [
    {"name": "score", "dtype": "float32", "shape": ["windows"],
     "meaning": "anomaly score of each window (GAT: p(attack); VGAE: reconstruction error)"},
    {"name": "node_score", "dtype": "float32", "shape": ["nodes"],
     "meaning": "score of each node (CAN ID of the window): which IDs the score comes from"},
]  # fmt: skip


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _threshold_table(
    member: str,
    profile_thresholds: list[dict[str, Any]],
    node_thresholds: list[dict[str, Any]],
    zero_shot: list[dict[str, Any]],
) -> dict[str, Any]:
    """One member's thresholds: zero-shot, and per vehicle profile (window, half budget, node)."""
    (own,) = [row for row in zero_shot if row["model"] == member] or [None]
    if own is None:
        raise ValueError(f"no zero-shot threshold for {member!r}: run the calibration stage")
    nodes = {r["vehicle"]: r["node_threshold"] for r in node_thresholds if r["model"] == member}
    per_vehicle = {
        row["vehicle"]: {
            "window": float(row["threshold"]),
            "half_budget": float(row.get("threshold_half_budget", np.nan)),
            "node": float(nodes.get(row["vehicle"], np.nan)),
        }
        for row in profile_thresholds
        if row["model"] == member
    }
    return {
        "zero_shot": {"window": float(own["threshold"]), "node": float(own["node_threshold"])},
        "profiles": per_vehicle,
    }


def make_manifest(
    detector: str,
    members: dict[str, dict[str, Any]],
    graphs: dict[str, Any],
    feature_stats: dict[str, Any],
    vocabulary: dict[str, Any],
    profiles: dict[str, Any],
    matching: dict[str, Any],
    thresholds: dict[str, list[dict[str, Any]]],
    parity: dict[str, Any],
    provenance: dict[str, Any],
    warmup_s: float = 0.0,
) -> dict[str, Any]:
    """The manifest of a bundle (JSON-able; NaN where a threshold is unknown).

    `members`: name → kind, file, sha256, bytes, parameters; `graphs`: window_size, stride,
    tail_policy, node_features, edge_features, max_tracked_ids, known_after; `profiles`: the
    `vehicle_profiles` dict's profiles; `matching`: match_seconds, min_count, min_jaccard;
    `thresholds`: the calibration stage's `profile`, `node` and `zero_shot` tables as records;
    `warmup_s`: no alarm from a window that ends within its capture's first `warmup_s`.
    """
    return {
        "format": FORMAT,
        "detector": detector,
        "rule": ALARM_OR if len(members) > 1 else "single",
        "warmup_s": float(warmup_s),
        "members": {
            name: member
            | {
                "thresholds": _threshold_table(
                    name, thresholds["profile"], thresholds["node"], thresholds["zero_shot"]
                )
            }
            for name, member in members.items()
        },
        "inputs": INPUT_DOC,
        "outputs": OUTPUT_DOC,
        "graphs": graphs,
        "feature_stats": {k: feature_stats[k] for k in ("node", "edge")},
        "vocabulary": vocabulary,
        "profiles": {"matching": matching, "vehicles": profiles},
        "parity": parity,
        "provenance": provenance,
    }


@dataclass
class Persistence:
    """The raw scores of a stream's last windows, per member: what the next call's first
    windows are persisted over (`ExportedDetector.decide`)."""

    tail: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    last: tuple[str, int, int] | None = None  # the previous call's last window
    # (`capture`, `start_row`, `end_row`)

    def follows(self, windows: Any) -> np.ndarray:
        """`kd_gat.persistence.follows` of a stream's next windows (a table with `capture`,
        `start_row`, `end_row`), the first judged against the previous call's last window."""
        out = follows(windows, self.last)
        if len(windows):
            row = windows.iloc[-1]
            self.last = (str(row["capture"]), int(row["start_row"]), int(row["end_row"]))
        return out

    def persist(self, member: str, raw: np.ndarray, follows: np.ndarray, k: int) -> np.ndarray:
        """`kd_gat.persistence.persist` of `raw` after the member's kept tail; keeps the new
        tail (the last k - 1 raw scores and whether each follows the one before)."""
        raw = np.asarray(raw, dtype=np.float64)
        follows = np.asarray(follows, dtype=bool)
        kept_raw, kept_follows = self.tail.get(member, (np.zeros(0), np.zeros(0, bool)))
        scores = np.concatenate([kept_raw, raw])
        chain = np.concatenate([kept_follows, follows])
        if len(kept_raw) and len(follows):
            chain[len(kept_raw)] = bool(follows[0])
        out = persist(scores, chain, k)[len(kept_raw) :]
        keep = max(k - 1, 0)
        self.tail[member] = (scores[len(scores) - keep :], chain[len(chain) - keep :])
        return out


@dataclass(frozen=True)
class Decisions:
    """Per window: `score`, `threshold`, `decision` (0/1), `calibrated`; per node (in the
    graphs' node order): `implicated` and the `node_score` that ranks it (the highest among the
    members that implicate it; NaN where none does)."""

    score: np.ndarray
    threshold: np.ndarray
    decision: np.ndarray
    calibrated: np.ndarray
    implicated: np.ndarray
    node_score: np.ndarray


def _standardise(values: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    out = values.astype(np.float32) - np.asarray(stats["mean"], dtype=np.float32)
    out /= np.asarray(stats["std"], dtype=np.float32)
    return out


def _top_per_window(values: np.ndarray, node_ptr: np.ndarray) -> np.ndarray:
    """Index of the largest value of each window's nodes (the first on ties)."""
    counts = np.diff(node_ptr)
    window = np.repeat(np.arange(len(counts)), counts)
    order = np.lexsort((np.arange(len(values)), -values, window))
    return order[node_ptr[:-1]]


class ExportedDetector:
    """A bundle folder, loaded: ONNX sessions for its members and the manifest's rules."""

    def __init__(self, folder: str | Path, threads: int = 1) -> None:
        import onnxruntime as ort

        self.folder = Path(folder)
        manifest_file = self.folder / MANIFEST
        if not manifest_file.is_file():
            raise FileNotFoundError(f"{manifest_file}: not a detector bundle (no {MANIFEST})")
        self.manifest = json.loads(manifest_file.read_text())
        if self.manifest.get("format") != FORMAT:
            raise ValueError(f"{manifest_file}: bundle format {self.manifest.get('format')!r}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.sessions = {}
        for name, member in self.manifest["members"].items():
            model = (self.folder / member["file"]).read_bytes()
            if sha256(model) != member["sha256"]:
                raise ValueError(f"{self.folder / member['file']}: content differs from manifest")
            self.sessions[name] = ort.InferenceSession(
                model, options, providers=["CPUExecutionProvider"]
            )
        self.vocabulary = np.asarray(self.manifest["vocabulary"]["can_ids"], dtype=np.int64)

    @property
    def name(self) -> str:
        return self.manifest["detector"]

    @property
    def warmup_s(self) -> float:
        """A window ending within its capture's first `warmup_s` raises no alarm."""
        return float(self.manifest.get("warmup_s", 0.0))

    def inputs(self, graphs, standardised: bool = False) -> dict[str, np.ndarray]:
        """The ONNX inputs of graph arrays (`kd_gat.graphs.builder.GraphArrays`, or a
        `GraphStore`): raw features, or already `standardised` (a store of the graphs stage)."""
        stats = self.manifest["feature_stats"]
        if standardised:
            stats = {k: {"mean": 0.0, "std": 1.0} for k in ("node", "edge")}
        node_counts = np.diff(graphs.node_ptr)
        edge_counts = np.diff(graphs.edge_ptr)
        windows = np.arange(len(node_counts), dtype=np.int64)
        edge_offset = np.repeat(graphs.node_ptr[:-1], edge_counts)
        return {
            "x": _standardise(graphs.x, stats["node"]),
            "node_id": graphs.node_id.astype(np.int64),
            "edge_index": graphs.edge_index.astype(np.int64) + edge_offset,
            "edge_attr": _standardise(graphs.edge_attr, stats["edge"]),
            "batch": np.repeat(windows, node_counts),
            "window_index": windows,
        }

    def scores(self, graphs, standardised: bool = False) -> dict[str, tuple[np.ndarray, ...]]:
        """Each member's window scores and node scores."""
        feed = self.inputs(graphs, standardised)
        return {
            name: tuple(np.asarray(a, dtype=np.float64) for a in session.run(None, feed))
            for name, session in self.sessions.items()
        }

    def _thresholds(
        self, member: str, profile: str | None, calibrated: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per window: the member's window threshold, node threshold, and whether calibrated."""
        table = self.manifest["members"][member]["thresholds"]
        own = table["profiles"].get(profile) if profile is not None else None
        use = calibrated & (own is not None) & np.isfinite(own["window"] if own else np.nan)
        zero = table["zero_shot"]
        window = own["half_budget"] if own and self.manifest["rule"] == ALARM_OR else np.nan
        if not np.isfinite(window):
            window = own["window"] if own else np.nan
        threshold = np.where(use, window, zero["window"])
        node_own = own["node"] if own else np.nan
        node = np.where(use & np.isfinite(node_own), node_own, zero["node"])
        return threshold, node, use

    def decide(
        self,
        graphs,
        profile: str | None,
        reads_profile: np.ndarray,
        standardised: bool = False,
        follows: np.ndarray | None = None,
        history: Persistence | None = None,
        settled: np.ndarray | None = None,
    ) -> Decisions:
        """Decisions for windows of one capture matched to `profile` (None: unmatched);
        `reads_profile`: per window, whether it ends at or after the match. A member with
        `persistence` k > 1 scores each window with the lowest raw score of it and its k - 1
        predecessors (`kd_gat.persistence`): `follows` says which window directly follows the
        one before it (None: all but the first), `history` carries the last raw scores from
        one call to the next of a stream (the first window follows them when `follows[0]`).
        `settled`: per window, whether it ends after its capture's warm-up (`warmup_s`); a window
        that does not raises no alarm (threshold +inf). None: every window is settled."""
        reads_profile = np.asarray(reads_profile, dtype=bool)
        node_ptr = graphs.node_ptr
        n = len(node_ptr) - 1
        if follows is None:
            follows = np.arange(n) > 0
        window_of = np.repeat(np.arange(n), np.diff(node_ptr))
        members = []
        for name, (raw, node_score) in self.scores(graphs, standardised).items():
            k = int(self.manifest["members"][name].get("persistence", 1))
            score = (history or Persistence()).persist(name, raw, follows, k)
            threshold, node_threshold, calibrated = self._thresholds(name, profile, reads_profile)
            if settled is not None:
                threshold = np.where(settled, threshold, np.inf)
            flagged = score >= threshold
            implicated = flagged[window_of] & (node_score >= node_threshold[window_of])
            silent = flagged & (np.bincount(window_of, implicated, len(score)) == 0)
            top = _top_per_window(node_score, node_ptr)[silent]
            implicated[top] = True  # a flagged window always names an ID
            members.append((score, threshold, flagged, calibrated, implicated, node_score))
        if len(members) == 1:
            score, threshold, flagged, calibrated, implicated, node_score = members[0]
        else:  # alarm-level OR: the larger margin over a member's threshold
            (s1, t1, f1, c1, i1, n1), (s2, t2, f2, c2, i2, n2) = members
            score = np.nan_to_num(np.fmax(s1 - t1, s2 - t2), neginf=-1e12, posinf=1e12)
            threshold = np.zeros(len(score))
            flagged, calibrated, implicated = f1 | f2, c1 & c2, i1 | i2
            node_score = np.fmax(np.where(i1, n1, np.nan), np.where(i2, n2, np.nan))
        return Decisions(
            score=score,
            threshold=threshold,
            decision=flagged.astype(np.int8),
            calibrated=calibrated,
            implicated=implicated,
            node_score=np.where(implicated, node_score, np.nan),
        )
