"""Graphs pipeline: `frames` → CAN-ID vocabulary → windows → graph stores (train, val, test)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
