"""Frames → windows → graph tensors. Pure numpy/torch; knows nothing of Kedro."""
