"""Data: sources, splitting, scaling and in-memory batching."""
