"""KD-GAT: graph neural network intrusion detection on the CAN bus, with knowledge distillation."""

from kd_gat.log_filters import quiet_dependency_warnings

__version__ = "0.1.0"

# Kedro imports the project package when it bootstraps the project, before it loads the plugins'
# commands and hooks that raise the dependency warnings every command would print.
quiet_dependency_warnings()
