"""kedro-viz: the static build of a project that has run (the smoke run) draws the pipeline graph
as the stage story in headless Chromium, with its layer bands and dataset previews."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kd_gat.pipeline_registry import STAGES
from tests.conftest import PROJECT

CHROMIUM = shutil.which("chromium")
LAYERS = ["raw", "intermediate", "primary", "model_input", "models", "model_output", "reporting"]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--virtual-time-budget=20000",
    "--window-size=1600,1000",
]


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _chromium(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.e2e
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (see README)")
def test_viz_build_renders_the_stage_story(smoke_run, tmp_path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build", "--include-previews"],
        cwd=smoke_run.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    site = smoke_run.path("build")
    assert (site / "index.html").exists(), build.stdout + build.stderr
    # the layers are acyclic (kedro-viz lists none otherwise) and the run's data is previewed
    main = json.loads((site / "api" / "main").read_text())
    assert main["layers"] == LAYERS
    names = {n["id"]: n["name"] for n in main["nodes"]}
    previewed = {
        names.get(f.name)
        for f in (site / "api" / "nodes").iterdir()
        if json.loads(f.read_text()).get("preview") is not None
    }
    assert {"frames", "capture_matches", "attack_events"} <= previewed, sorted(previewed)
    server, url = _serve(site)
    try:
        dom = _chromium(url, tmp_path / "profile", "--dump-dom").stdout
        screenshot = PROJECT / "build" / "kedro-viz.png"
        screenshot.parent.mkdir(exist_ok=True)
        _chromium(url, tmp_path / "profile2", f"--screenshot={screenshot}")
    finally:
        server.shutdown()
    labels = {re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text[^>]*>.*?</text>", dom)}
    # every stage is drawn as a collapsed group, with the public datasets between them
    groups = dom.count("pipeline-node--modularPipeline")
    assert groups >= len(STAGES), f"{groups} groups drawn"
    for name in [*STAGES, "raw_captures", "frames", "graphs_train", "metrics", "leaderboard"]:
        assert name in labels, f"{name!r} not drawn; drawn: {sorted(labels)}"
    assert screenshot.stat().st_size > 10_000  # a real picture, kept for a person to look at
    assert "pipeline-layer" in dom  # the layer bands are drawn
