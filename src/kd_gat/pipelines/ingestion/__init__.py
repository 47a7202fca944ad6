"""Ingestion: raw CAN captures → validated, typed frames."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
