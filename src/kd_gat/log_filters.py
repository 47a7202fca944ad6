"""Dependency warnings that every command would print, silenced by their exact message.

Each comes from code this project does not own and cannot change by a setting: OmegaConf 2.4
deprecates `register_new_resolver`, which Kedro 1.7 and kedro-mlflow 2.0 still call on every
session; MLflow's pyfunc warns, when kedro-mlflow's hooks are imported, about a `predict`
without type hints in one of kedro-mlflow's classes; Kedro warns about dots in dataset names,
which the roster's namespaces use on purpose (`gat_teacher.model`). Everything else, ours and
theirs, still shows.

The package's `__init__` calls `quiet_dependency_warnings()`: Kedro imports the project package
when it bootstraps the project, before it loads the plugins' commands and hooks that raise
these. Two layers, because MLflow raises its warning inside `catch_warnings()` with its own
`simplefilter("once")`, which overrides any filter: the filters, and a `warnings.showwarning`
that drops these messages on their way to Kedro's log (a logging filter would be the natural
place, but Kedro's logging configuration accepts neither a filter factory nor a handler class
from this package). pyproject's `filterwarnings` repeats `PATTERNS` for pytest.
"""

from __future__ import annotations

import re
import warnings

PATTERNS = (
    r"register_new_resolver\(\) is deprecated",
    r".*Add type hints to the `predict` method",
    r"One or more dataset names contain '\.' characters",
)


_KNOWN = re.compile("|".join(f"(?:{p})" for p in PATTERNS))


def quiet_dependency_warnings() -> None:
    """Ignore the `PATTERNS` UserWarnings (message match from the start, as `warnings` does),
    and drop them in `warnings.showwarning` too (once: the wrapper marks itself)."""
    for pattern in PATTERNS:
        warnings.filterwarnings("ignore", message=pattern, category=UserWarning)
    shown = warnings.showwarning
    if getattr(shown, "drops_dependency_warnings", False):
        return

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning) and _KNOWN.match(str(message)):
            return
        shown(message, category, filename, lineno, file, line)

    showwarning.drops_dependency_warnings = True
    warnings.showwarning = showwarning
