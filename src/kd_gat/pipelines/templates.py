"""Templates of the namespaced pipelines generated from the roster: a node bound to its roster
entry, and the fit + learning-curves pipeline of one detector. Imported by the stages that train
(it pulls in torch and Lightning), not by the package, so ingestion stays light."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, update_wrapper
from typing import Any

from kedro.pipeline import Node, Pipeline

from kd_gat.reporting import learning_curves_figure
from kd_gat.roster import Detector
from kd_gat.training.fit import train_detector

# what every fit reads: argument of `train_detector` -> dataset
FIT_INPUTS = {
    "graphs_train": "graphs_train",
    "graphs_val": "graphs_val",
    "training": "params:training",
    "trainer": "params:trainer",
    "model_scales": "params:model_scales",
    "detector_overrides": "params:detector_overrides",
}


def bind(func: Callable, **constants: Any) -> Callable:
    """`func` with keyword arguments fixed (e.g. the roster entry a namespaced node serves),
    keeping its name and docstring for Kedro's logs and kedro-viz."""
    return update_wrapper(partial(func, **constants), func)


def detector_pipeline(detector: Detector) -> Pipeline:
    """Namespace `detector.name`: fit the detector (from its frozen `<teacher>.model` for a
    distilled student) into `model` and `training_history`, and plot its learning curves.
    Shared inputs and parameters keep their names."""
    inputs = dict(FIT_INPUTS)
    if detector.teacher is not None:
        inputs |= {"teacher": "teacher", "distillation": "params:distillation"}
    if detector.profile_kd:
        inputs |= {"profile_graphs": "distillation_graphs"}
    fit = Node(
        bind(train_detector, detector=detector),
        inputs=inputs,
        outputs=["model", "training_history"],
        name=f"{'train' if detector.teacher is None else 'distill'}_{detector.name}",
    )
    plot = Node(
        learning_curves_figure,
        inputs={detector.name: "training_history"},
        outputs="learning_curves",
        name=f"plot_{detector.name}_learning_curves",
    )
    params = {p for p in inputs.values() if p.startswith("params:")}
    return Pipeline(
        [fit, plot],
        namespace=detector.name,
        # the shared stores keep their names; `teacher` is the training stage's artifact
        inputs={
            name: f"{detector.teacher}.model" if name == "teacher" else name
            for name in set(inputs.values()) - params
        },
        parameters=params,
        tags=[detector.name],
    )
