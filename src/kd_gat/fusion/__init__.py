"""Fusion of the VGAE anomaly score and the GAT attack probability (DQN agent and baselines)."""
