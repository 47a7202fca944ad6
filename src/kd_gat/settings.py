"""Kedro project settings."""

from kd_gat.hooks import MlflowModelHooks, NodeProgressHooks, ParameterValidationHooks, RunHooks

HOOKS = (ParameterValidationHooks(), RunHooks(), MlflowModelHooks(), NodeProgressHooks())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # an environment (smoke, gpu) overrides single keys of a parameter group, not whole groups
    "merge_strategy": {"parameters": "soft"},
}
