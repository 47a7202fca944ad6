"""Reporting: leaderboard, curves, confusion matrices and learning curves, logged to MLflow."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
