"""The code base stays ruff clean (lint and format)."""

import subprocess
import sys

from tests.conftest import PROJECT


def test_ruff_lint_and_format() -> None:
    for args in (["check", "."], ["format", "--check", "."]):
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", *args], cwd=PROJECT, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
