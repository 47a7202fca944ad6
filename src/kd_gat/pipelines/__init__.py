"""The project's pipelines, one package per stage; namespaced ones are generated from the roster
(`kd_gat.roster`) with the helpers below."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, update_wrapper
from typing import Any

from kedro.pipeline import Node, Pipeline

from kd_gat.reporting import learning_curves_figure
from kd_gat.roster import Detector


def bind(func: Callable, **constants: Any) -> Callable:
    """`func` with keyword arguments fixed (e.g. the roster entry a namespaced node serves),
    keeping its name and docstring for Kedro's logs and kedro-viz."""
    return update_wrapper(partial(func, **constants), func)


def detector_pipeline(detector: Detector, fit: Node, inputs: dict[str, str]) -> Pipeline:
    """`fit` (writing `model`, `training_history`) and the learning-curve plot under namespace
    `detector.name`; `inputs` maps the fit's free inputs to the datasets they read, and
    parameters keep their names."""
    return Pipeline(
        [
            fit,
            Node(
                learning_curves_figure,
                inputs={detector.name: "training_history"},
                outputs="learning_curves",
                name="plot_learning_curves",
            ),
        ],
        namespace=detector.name,
        inputs=inputs,
        parameters={p for p in fit.inputs if p.startswith("params:")},
        tags=[detector.name],
    )
