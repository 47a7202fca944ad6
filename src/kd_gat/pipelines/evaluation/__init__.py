"""Evaluation: every model variant on every test scenario, thresholds from validation."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
