"""Model files: `{"kind", "config", "state_dict", "fingerprint", "name"}`, loaded with
`torch.load(weights_only=True)`.

Only tensors and plain Python values are stored, so loading never unpickles code. Beside the
models and free of Lightning, so the Kedro dataset, scoring and deployment read it cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import torch
from torch import nn

from kd_gat.models import model_from_config


def model_payload(model: nn.Module) -> dict[str, Any]:
    """What is saved: the model kind, the arguments that built it, its weights on CPU, the
    fingerprint of the graphs it was trained on (`kd_gat.fingerprint`; "" if unknown) and its
    roster name ("" if unknown), so that thresholds set for a name are never applied to
    another model."""
    return {
        "kind": model.kind,
        "config": dict(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "fingerprint": model.fingerprint,
        "name": getattr(model, "name", ""),
    }


def model_from_payload(payload: Mapping[str, Any]) -> nn.Module:
    """Rebuild the model of a payload, weights loaded, in eval mode."""
    model = model_from_config(payload["kind"], payload["config"])
    model.load_state_dict(payload["state_dict"])
    model.fingerprint = payload.get("fingerprint", "")
    model.name = payload.get("name", "")
    return model.eval()


def save_model(model: nn.Module, file: str | Path | IO[bytes]) -> None:
    torch.save(model_payload(model), file)


def load_model(file: str | Path | IO[bytes]) -> nn.Module:
    return model_from_payload(torch.load(file, map_location="cpu", weights_only=True))


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (torch's unpickling errors run to a page and end
    with advice to load with `weights_only=False`, which this project never does)."""
    return (str(exc).strip().splitlines() or [""])[0]
