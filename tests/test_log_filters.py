"""No dependency warnings on every command: the known ones are dropped by exact message, any
other warning still shows."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

from kd_gat.log_filters import quiet_dependency_warnings
from tests.conftest import PROJECT


def test_known_dependency_warnings_are_silenced_and_others_kept() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_dependency_warnings()
        warnings.warn("register_new_resolver() is deprecated and will be removed", stacklevel=1)
        warnings.warn("\x1b[33mAdd type hints to the `predict` method to enable", stacklevel=1)
        warnings.warn("register_resolver() failed", stacklevel=1)
        warnings.warn("something of ours", stacklevel=1)
    assert [str(w.message) for w in caught] == ["register_resolver() failed", "something of ours"]


def test_a_kedro_command_prints_no_warning() -> None:
    env = os.environ | {"KEDRO_DISABLE_TELEMETRY": "true"}
    env.pop("KEDRO_LOGGING_CONFIG", None)  # the project's conf/logging.yml
    run = subprocess.run(
        [sys.executable, "-m", "kedro", "catalog", "describe-datasets", "-p", "export"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    output = run.stdout + run.stderr
    assert "detector_bundle" in output
    assert "Warning" not in output, output


def test_a_warning_raised_under_its_own_filter_is_still_dropped() -> None:
    """MLflow raises its warning with `simplefilter("once")` in force, which outranks ours."""
    shown = []
    with warnings.catch_warnings():
        warnings.showwarning = lambda message, *args, **kwargs: shown.append(str(message))
        quiet_dependency_warnings()
        with warnings.catch_warnings():
            warnings.simplefilter("once", category=UserWarning)
            warnings.warn("Add type hints to the `predict` method to enable", stacklevel=1)
            warnings.warn("a warning of ours", stacklevel=1)
    assert shown == ["a warning of ours"]
