"""Config + data facts -> the LightningModule; shared by training and by rebuilding a model from its checkpoint."""

from __future__ import annotations

from omegaconf import DictConfig

from levers.data.scaling import AffineScaler
from levers.data.task import TaskSpec
from levers.losses import build_loss
from levers.models import build_model
from levers.module import LitModel
from levers.optim import optimizer_factory


def build_module(
    cfg: DictConfig, task: TaskSpec, num_features: int, feature_scaler: AffineScaler, target_scaler: AffineScaler
) -> LitModel:
    loss = build_loss(cfg.loss, task)
    net = build_model(cfg.model, num_features, loss.output_units(task))
    return LitModel(
        net,
        loss,
        task,
        optimizer=optimizer_factory(cfg.optimizer),
        scheduler=cfg.scheduler,
        feature_scaler=feature_scaler,
        target_scaler=target_scaler,
        l1=cfg.regularization.l1,
        l1_activity=cfg.regularization.l1_activity,
    )
