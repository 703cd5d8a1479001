"""levers' Hydra sweepers: a grid that survives failed jobs, and an Optuna search on current Optuna with pruning.

Hydra imports every module of a `hydra_plugins` package at start-up, so nothing here imports optuna or torch at
module level.
"""
