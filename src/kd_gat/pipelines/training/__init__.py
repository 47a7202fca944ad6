"""Teacher and student training of the GAT classifier and the VGAE anomaly detector."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
