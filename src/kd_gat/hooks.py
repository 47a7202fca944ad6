"""Project hooks: validate every parameter before work starts; one run per dataset at a time and
readable MLflow runs; log each node's pace."""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from kd_gat import roster
from kd_gat.params import PARAMETER_MODELS
from kd_gat.params.run import RunParams
from kd_gat.tracking import (
    DatasetLock,
    RunLockedError,
    global_rank,
    log_detector,
    mark_dead_runs,
    run_tags,
)

log = logging.getLogger(__name__)


class UnknownParameterError(ValueError):
    """A top-level parameter that no group or public parameter has (a misspelling)."""


def validate_parameters(params: dict[str, Any]) -> None:
    """Raise on the first bad parameter: an unknown top-level key (with the closest known name),
    or a pydantic ValidationError naming the group and key."""
    known = [*PARAMETER_MODELS, *RunParams.model_fields]
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1) or [
                f"{g}.{key}" for g, m in PARAMETER_MODELS.items() if key in m.model_fields
            ]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownParameterError(f"unknown parameter {key!r}{hint} (known: {known})")
    RunParams.model_validate({k: params[k] for k in RunParams.model_fields if k in params})
    for group, model in PARAMETER_MODELS.items():
        if group in params:
            model.model_validate(params[group])


class ParameterValidationHooks:
    """Fail a run on bad parameters before work starts, not half-way through it."""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        validate_parameters(context.params)


class MissingInputsError(RuntimeError):
    """A partial run whose inputs were never built for this dataset."""


def check_inputs_exist(pipeline: Any, catalog: Any, dataset: str) -> None:
    """Stop a run, before any node, when a dataset it reads (and does not build) is missing,
    naming each one and its file: a partial run for a dataset uses that dataset's artifacts."""
    free = sorted(n for n in pipeline.inputs() if not n.startswith("params:") and n != "parameters")
    missing = [name for name in free if not catalog.exists(name)]
    if missing:
        where = "\n".join(f"  {name}: {catalog.get(name)}" for name in missing)
        raise MissingInputsError(
            f"this run reads artifacts that do not exist for dataset {dataset!r}:\n{where}\n"
            "Run the stages that build them first (e.g. `kedro run --params "
            f"dataset={dataset}`), or choose the dataset they were built for."
        )


def _end_mlflow_run_refused(reason: str) -> None:
    """End the MLflow run kedro-mlflow opened for a refused run as FAILED, saying why."""
    import mlflow

    if mlflow.active_run() is not None:
        mlflow.set_tag("refused", reason)
        mlflow.end_run("FAILED")


class RunHooks:
    """Per run: the dataset lock (one run per dataset at a time), then MLflow run name and tags
    and the sweep of runs a dead process left RUNNING.

    kedro-mlflow, a plugin, is registered after the project's hooks, so its `before_pipeline_run`
    (which starts the MLflow run) is called before this one.
    """

    def __init__(self) -> None:
        self._lock: DatasetLock | None = None
        self._project: Path = Path.cwd()
        self._dataset = ""

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._project = Path(context.project_path)
        self._dataset = str(context.params.get("dataset") or "")

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        check_inputs_exist(pipeline, catalog, self._dataset)
        if self._dataset and global_rank() == 0:  # DDP re-launches the run on other ranks
            lock = DatasetLock(self._project / "data" / "locks", self._dataset)
            try:
                lock.acquire()
            except RunLockedError as refused:
                _end_mlflow_run_refused(str(refused))
                raise
            self._lock = lock
        self._tag_mlflow_run(run_params)

    def _tag_mlflow_run(self, run_params: dict[str, Any]) -> None:
        import mlflow

        run = mlflow.active_run()
        if run is None:
            return
        pipeline = "+".join(run_params.get("pipeline_names") or ["__default__"])
        mlflow.set_tags(run_tags(self._dataset, pipeline, run_params.get("env"), self._project))
        client = mlflow.MlflowClient()
        experiment = run.info.experiment_id
        client.set_experiment_tag(experiment, "mlflow.experimentKind", "custom_model_development")
        for run_id in mark_dead_runs(client, experiment, run.info.run_id):
            log.warning("MLflow run %s was left RUNNING by a dead process: marked KILLED", run_id)

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._release()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


class MlflowModelHooks:
    """After a detector is trained, log it as an MLflow model (`kd_gat.tracking.log_detector`)
    with two validation windows as input example; distilled students, the deployable detectors,
    are also registered as `kd-gat-<name>`. Only when kedro-mlflow has a run open."""

    @hook_impl
    def after_node_run(self, node: Any, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        import mlflow

        if mlflow.active_run() is None or global_rank() != 0 or "graphs_val" not in inputs:
            return
        detectors = {d.name: d for d in roster.DETECTORS}
        for dataset, model in outputs.items():
            name = dataset.removesuffix(".model")
            if name in detectors and len(inputs["graphs_val"]):
                registered = f"kd-gat-{name}" if detectors[name].teacher else None
                val = inputs["graphs_val"]
                example = val.batch([0, min(1, len(val) - 1)])  # two windows: a free dimension
                uri = log_detector(model, example, name, registered)
                log.info("%s logged as MLflow model %s", name, uri)


def item_count(data: Any) -> int | None:
    """Rows of a table, windows of a graph store, items of a mapping of stores; else None."""
    if isinstance(data, Mapping):
        counts = [item_count(v) for v in data.values()]
        return sum(counts) if counts and None not in counts else None
    if hasattr(data, "shape") and hasattr(data, "columns"):  # a DataFrame
        return int(data.shape[0])
    if hasattr(data, "windows") and hasattr(data, "__len__"):  # a GraphStore
        return len(data)
    return None


class NodeProgressHooks:
    """After each node: its wall time and, per output, rows or windows per second."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Any, outputs: dict[str, Any]) -> None:
        seconds = time.perf_counter() - self._started.pop(node.name, time.perf_counter())
        sizes = {name: item_count(data) for name, data in outputs.items()}
        paces = ", ".join(
            f"{name}: {n:,} ({n / max(seconds, 1e-9):,.0f}/s)"
            for name, n in sizes.items()
            if n is not None
        )
        log.info("%s took %.2f s%s", node.name, seconds, f" — {paces}" if paces else "")
