"""Profiles: attack-free recordings of each car → its profile (ID set, periods); the run's
captures and the recordings matched to the profiles (`kd_gat.profiles`)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
