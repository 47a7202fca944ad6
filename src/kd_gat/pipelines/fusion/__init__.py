"""Fusion: VGAE + GAT detector outputs → DQN agent and baselines, per detector pair."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
