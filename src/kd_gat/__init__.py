"""KD-GAT: graph neural network intrusion detection on the CAN bus, with knowledge distillation."""

__version__ = "0.1.0"
