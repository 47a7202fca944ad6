"""Calibration: each detector scores the cars' attack-free recordings and gets its threshold per
car for a false-alarm budget, and the node threshold that implicates an ID."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
