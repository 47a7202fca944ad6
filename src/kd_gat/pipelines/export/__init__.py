"""Export: the deployed detector as ONNX, with all that scores raw frames (`kd_gat.bundle`)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
