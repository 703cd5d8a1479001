"""Sweeps that compare: the report (leaderboard, charts, HTML), the Hydra callback, Optuna pruning from the job."""
