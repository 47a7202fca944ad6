"""Distillation: students trained from frozen teachers (soft labels for GAT, latents for VGAE)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
