"""Kedro project settings."""

from kd_gat.hooks import ParameterValidationHooks

HOOKS = (ParameterValidationHooks(),)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
