"""Streaming detection (`python -m kd_gat.detect`): a capture replayed as a candump log gets,
window by window, the decisions batch inference takes; frames out of time order are reordered
as ingestion orders them, or rejected when too late; no torch is loaded."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kd_gat import detect, roster
from kd_gat.bundle import ExportedDetector
from kd_gat.datasets.bundle import DetectorBundleDataset
from kd_gat.datasets.captures import CaptureFolderDataset
from kd_gat.ingestion.logs import write_candump
from tests.conftest import PROJECT
from tests.pipelines.conftest import run_stage, write_new_captures


def _replay(log, bundle_dir) -> tuple[pd.DataFrame, str]:
    out, err = io.StringIO(), io.StringIO()
    detect.run(str(log), bundle_dir, out, err, as_json=True)
    return pd.DataFrame([json.loads(line) for line in out.getvalue().splitlines()]), err.getvalue()


def test_a_candump_replay_decides_like_batch_inference(bundle_dir, inference_run, tmp_path):
    frames, scores = inference_run["inference_frames"], inference_run["inference_scores"]
    alerts = warming = 0
    for capture, expected in scores.groupby("capture"):
        mine = frames[frames["capture"].astype(str) == capture]
        log = write_candump(mine, tmp_path / f"{capture.replace('/', '_')}.log")
        got, err = _replay(log, bundle_dir)
        expected = expected.sort_values("start_time").reset_index(drop=True)
        assert len(got) == len(expected)
        np.testing.assert_allclose(got["time"], expected["end_time"], rtol=0, atol=1e-6)
        np.testing.assert_array_equal(got["decision"], expected["decision"])
        np.testing.assert_array_equal(got["calibrated"], expected["calibrated"])
        # a window in the capture's warm-up has no threshold (None; +inf in batch inference)
        threshold = got["threshold"].astype(np.float64).fillna(np.inf)
        np.testing.assert_allclose(threshold, expected["threshold"])
        warming += int(np.isinf(expected["threshold"]).sum())
        np.testing.assert_allclose(got["score"], expected["score"], atol=1e-4)
        flagged = expected["decision"].to_numpy() == 1
        top = [ids[0] if ids else None for ids in got["ids"]]
        pairs = zip(expected["top_id"], flagged, strict=True)
        want = [f"0x{int(i):03X}" if f else None for i, f in pairs]
        assert top == want
        assert f"{len(mine)} frames (0 rejected)" in err
        alerts += int(flagged.sum())
    assert alerts > 0  # the replay covers flagged windows
    assert warming > 0  # and windows of a capture's warm-up


def test_the_cli_reads_a_candump_log_on_stdin_without_torch(bundle_dir, inference_run, tmp_path):
    frames = inference_run["inference_frames"]
    capture = frames["capture"].astype(str).iloc[-1]
    log = write_candump(frames[frames["capture"].astype(str) == capture], tmp_path / "bus.log")
    code = (
        "import sys; from kd_gat.detect import main; main(sys.argv[1:]); "
        "assert not {'torch', 'torch_geometric', 'kedro'} & set(sys.modules), 'heavy import'"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, "--bundle", str(bundle_dir), "--json", "-"],
        input=log.read_bytes(),
        capture_output=True,
        cwd=PROJECT,
        check=True,
    )
    lines = [json.loads(line) for line in run.stdout.decode().splitlines()]
    from_file, _ = _replay(log, bundle_dir)
    assert pd.DataFrame(lines).equals(from_file)
    assert "frames/s" in run.stderr.decode()


def _frames(timestamps) -> pd.DataFrame:
    n = len(timestamps)
    return pd.DataFrame({"timestamp": np.asarray(timestamps, float), "row": np.arange(1, n + 1)})


def test_reorder_releases_frames_as_a_stable_sort_would():
    rng = np.random.default_rng(0)
    ts = np.cumsum(rng.uniform(0, 0.002, 3000))
    jittered = ts + rng.uniform(-0.0005, 0.0005, len(ts))  # up to 1 ms out of order
    frames = _frames(jittered)
    reorder = detect.Reorder(hold_s=0.005)
    parts = []
    for a in range(0, len(frames), 250):
        ready, late = reorder.push(frames.iloc[a : a + 250])
        assert late.empty
        parts.append(ready)
    parts.append(reorder.flush())
    out = pd.concat(parts, ignore_index=True)
    expected = frames.iloc[np.argsort(jittered, kind="stable")].reset_index(drop=True)
    pd.testing.assert_frame_equal(out, expected)


def test_a_frame_later_than_the_hold_back_is_rejected_not_lost():
    reorder = detect.Reorder(hold_s=0.001)
    ready, _ = reorder.push(_frames([0.0, 0.1, 0.2, 0.3]))
    assert list(ready["timestamp"]) == [0.0, 0.1, 0.2]
    ready, late = reorder.push(_frames([0.05, 0.4]))  # 0.05 s comes after 0.2 s is released
    assert list(late["timestamp"]) == [0.05]
    assert list(ready["timestamp"]) == [0.3]
    assert list(reorder.flush()["timestamp"]) == [0.4]


def test_a_folder_without_a_bundle_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a detector bundle"):
        detect.run("-", tmp_path, io.StringIO(), io.StringIO())


def test_a_persisting_vgae_streams_like_batch_inference(fusion_run, params, tmp_path):
    """A deployed VGAE with `scoring.persistence` 2: each window's score is the lower of its own
    and the window before it, in batch inference and in the replayed stream alike (the stream
    carries the last raw score from one block of frames to the next)."""
    vgae = next(d.name for d in roster.DETECTORS if d.kind == "vgae")
    assert params["scoring"]["persistence"]["vgae"] == 2
    params["inference"]["detector"] = vgae
    models = {vgae: fusion_run.artifacts[f"{vgae}.model"]}
    new = write_new_captures(tmp_path / "new")
    supply = fusion_run.artifacts | {"inference_models": models}
    captures = CaptureFolderDataset(str(new), labelled=False).load()
    inference = run_stage("inference", supply | {"inference_captures": captures}, params)
    export = run_stage("export", supply, params)
    bundle_dir = tmp_path / "bundle"
    DetectorBundleDataset(str(bundle_dir)).save(export["detector_bundle"])
    bundle = ExportedDetector(bundle_dir)
    assert bundle.manifest["members"][vgae]["persistence"] == 2
    frames, scores = inference["inference_frames"], inference["inference_scores"]
    graphs = inference["inference_graphs"]
    lowered = 0
    for capture, expected in scores.groupby("capture"):
        mine = frames[frames["capture"].astype(str) == capture]
        got, _ = _replay(
            write_candump(mine, tmp_path / f"{capture.replace('/', '_')}.log"), bundle_dir
        )
        expected = expected.sort_values("start_time").reset_index(drop=True)
        np.testing.assert_allclose(got["score"], expected["score"], atol=1e-4)
        np.testing.assert_array_equal(got["decision"], expected["decision"])
        raw = bundle.scores(graphs.select(expected["window"].to_numpy()), standardised=True)
        lowered += int((expected["score"].to_numpy() < raw[vgae][0] - 1e-6).sum())
    assert lowered > 0  # persistence changed scores, and the stream followed
