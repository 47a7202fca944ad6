"""Scoring: every trained detector → per-window outputs on train, val and each test scenario."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
