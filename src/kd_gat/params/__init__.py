"""Pydantic models of the parameter groups, validated before a run starts."""
