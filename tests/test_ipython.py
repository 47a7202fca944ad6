"""README's `kedro ipython` command works from a shell where `.venv` is not activated, and the
Kedro extension leaves matplotlib's backend alone (so a notebook's figures show inline)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import PROJECT

CODE = (
    "import sys, matplotlib; print('CATALOG', 'raw_captures' in catalog.keys()); "
    "print('BACKEND', matplotlib.get_backend().lower(), 'matplotlib.pyplot' in sys.modules)"
)


def test_ipython_with_the_kedro_extension_without_an_activated_venv() -> None:
    env = {
        "HOME": os.environ.get("HOME", "/tmp"),
        "PATH": "/usr/bin:/bin",  # no .venv/bin: the venv is not activated
        "KEDRO_DISABLE_TELEMETRY": "true",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",  # what Jupyter sets
    }
    run = subprocess.run(
        [sys.executable, "-m", "IPython", "--ext", "kedro.ipython", "-c", CODE],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "CATALOG True" in run.stdout, run.stdout + run.stderr
    # the inline backend Jupyter asked for survives the extension (no forced Agg)
    assert "BACKEND module://matplotlib_inline.backend_inline" in run.stdout, run.stdout
