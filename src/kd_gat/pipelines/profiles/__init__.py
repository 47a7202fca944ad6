"""Profiles: attack-free recordings of each car → its profile and each detector's threshold on it;
the run's captures matched to the profiles (`kd_gat.profiles`)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
