"""Run isolation and tracking a user can read.

- `DatasetLock`: one `kedro run` per dataset and project at a time. Two runs on one dataset would
  read each other's half-written artifacts ("latest version" and unversioned files); the second
  one is refused with a message naming the first (pid, command). An OS file lock: a killed run
  releases it.
- `run_tags`: MLflow run name and tags with the dataset, the pipeline, the git commit and the
  full command line (with its `--params`).
- `mark_dead_runs`: runs left RUNNING by a process that died (killed, power loss) are marked
  KILLED when the next run starts.
- `log_detector`: a trained detector as an MLflow model ("pt2", torch.export: no pickle), with
  its signature and an input example, loadable with `mlflow.pytorch.load_model`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO, Any


class RunLockedError(RuntimeError):
    """Another run on the same dataset is in progress."""


class DatasetLock:
    """An exclusive, non-blocking lock on `<folder>/<dataset>.lock` for the life of a run."""

    def __init__(self, folder: Path, dataset: str) -> None:
        self.path = Path(folder) / f"{dataset}.lock"
        self.dataset = dataset
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the whole run
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunLockedError(
                f"another kedro run on dataset {self.dataset!r} is in progress ({holder}); its "
                "artifacts would be mixed with this run's. Wait for it to finish, or run "
                "another dataset (--params dataset=...)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "command": command_line()}))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def global_rank() -> int:
    """This process's rank in a distributed run (0 outside one), from the variables that
    Lightning, torchrun and SLURM set, read in Lightning's order."""
    for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


def command_line() -> str:
    """This process's command line as typed (the `--params` included); `python -m kedro` for a
    module run."""
    program = Path(sys.argv[0])
    head = f"python -m {program.parent.name}" if program.name == "__main__.py" else program.name
    return " ".join([head, *(shlex.quote(a) for a in sys.argv[1:])])


def git_commit(folder: Path) -> str:
    """HEAD's commit (`+dirty` with uncommitted changes), or "unknown" outside a git checkout."""
    try:

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", *args], cwd=folder, capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()

        commit = git("rev-parse", "HEAD")
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_tags(dataset: str, pipeline: str, env: str | None, folder: Path) -> dict[str, str]:
    """Run name and tags: what data, which pipeline, which code, which command."""
    return {
        "mlflow.runName": f"{dataset} · {pipeline}" + (f" · {env}" if env else ""),
        "dataset": dataset,
        "pipeline": pipeline,
        "git_commit": git_commit(folder),
        "command": command_line(),
        "kd_gat.pid": str(os.getpid()),
        "kd_gat.host": socket.gethostname(),
    }


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def mark_dead_runs(client: Any, experiment_id: str, current_run: str) -> list[str]:
    """Mark KILLED every RUNNING run of the experiment started on this host by a process that
    no longer exists; returns their ids. Runs of other hosts are left alone."""
    host = socket.gethostname()
    dead = []
    for run in client.search_runs([experiment_id], "attributes.status = 'RUNNING'"):
        tags = run.data.tags
        if run.info.run_id == current_run or tags.get("kd_gat.host") != host:
            continue
        pid = tags.get("kd_gat.pid")
        if pid and pid.isdigit() and not process_alive(int(pid)):
            client.set_terminated(run.info.run_id, status="KILLED")
            dead.append(run.info.run_id)
    return dead


def log_detector(model: Any, example: Any, name: str, registered_name: str | None = None) -> str:
    """Log `model` to the active MLflow run as the model `name`: its `Detector` (window and node
    scores of a batch of window graphs) exported with torch.export ("pt2"), `example` (a PyG
    `Batch` of at least two windows) as input example, a tensor signature with free node, edge
    and window counts; registered as `registered_name` when given. Returns the model URI."""
    import mlflow
    import numpy as np
    import torch
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    from kd_gat.models.export import OUTPUTS, Detector, batch_inputs, input_shapes

    inputs = batch_inputs(example)
    shapes = input_shapes(inputs)
    signature = ModelSignature(
        inputs=Schema(
            [TensorSpec(a.dtype, shapes[n], n) for n, a in zip(shapes, inputs, strict=True)]
        ),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1,), n) for n in OUTPUTS]),
    )
    info = mlflow.pytorch.log_model(
        Detector(model),
        name=name,
        input_example=inputs,
        signature=signature,
        serialization_format="pt2",
        registered_model_name=registered_name,
        # the exported program needs torch alone (no PyG, no kd_gat) to load
        pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"],
    )
    return info.model_uri
