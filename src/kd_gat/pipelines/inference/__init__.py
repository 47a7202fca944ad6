"""Batch inference: new captures → windows → distilled students + DQN fusion → scores, alerts."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
