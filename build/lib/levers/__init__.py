"""levers: a declarative, config-driven neural-network training pipeline (Hydra + PyTorch Lightning)."""

__version__ = "0.1.0"
