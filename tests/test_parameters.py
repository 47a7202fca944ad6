"""Parameter YAML against the pydantic models: the models are the one home of defaults and bounds.

Every parameter group of every environment has a model and validates; the base YAML, which lists
the knobs a user is meant to turn, states the same value as the model's default wherever both
give one, so a default cannot drift between the two.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from pydantic import BaseModel

from kd_gat.params import PARAMETER_MODELS
from kd_gat.params.run import RunParams
from kd_gat.settings import CONFIG_LOADER_ARGS

CONF = Path(__file__).resolve().parents[1] / "conf"


def parameters(env: str) -> dict:
    loader = OmegaConfigLoader(str(CONF), **{**CONFIG_LOADER_ARGS, "default_run_env": env})
    return loader["parameters"]


def defaults_differing(model: type[BaseModel], values: dict, path: str) -> list[str]:
    """Keys of `values` whose value differs from `model`'s default (nested models followed)."""
    found = []
    for key, value in values.items():
        field = model.model_fields[key]
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += defaults_differing(annotation, value, f"{path}.{key}")
        elif not field.is_required():
            default = field.get_default(call_default_factory=True)
            if isinstance(default, tuple):
                value = tuple(value)
            if value != default:
                found.append(f"{path}.{key}: YAML {value!r}, model {default!r}")
    return found


@pytest.mark.parametrize("env", ["base", "smoke", "gpu"])
def test_every_group_has_a_model_and_validates(env):
    params = parameters(env)
    assert set(params) - set(RunParams.model_fields) == set(PARAMETER_MODELS)
    RunParams.model_validate({k: v for k, v in params.items() if k in RunParams.model_fields})
    for group, model in PARAMETER_MODELS.items():
        model.model_validate(params[group])


def test_base_yaml_states_the_model_defaults():
    params = parameters("base")
    differing = [
        row
        for group, model in PARAMETER_MODELS.items()
        if isinstance(params[group], dict)
        and hasattr(model, "model_fields")
        and "root" not in model.model_fields
        for row in defaults_differing(model, params[group], group)
    ]
    assert differing == []


def test_a_misspelt_key_is_refused():
    params = parameters("base")
    training = {**params["training"], "max_epoch": 3}
    with pytest.raises(ValueError, match="max_epoch"):
        PARAMETER_MODELS["training"].model_validate(training)
