"""`levers eval | predict | export`: each a Hydra app (conf/<command>.yaml) with the override grammar of training.

Each writes `summary.json` (and `<command>.log`) into its own run directory, prints what it found, and exits 2 with
one line on a bad value, like training.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from levers.config.location import hydra_config_path
from levers.errors import LeversConfigError
from levers.exit_codes import composition_errors_exit_2, interrupts_exit_like_a_shell, mark_composed
from levers.io import write_json_atomic
from levers.logging_setup import quiet_known_noise, route_lightning_logs_through_hydra

log = logging.getLogger("levers")


def eval_command(cfg: DictConfig) -> dict[str, Any]:
    from levers.serving.checkpoint import restore
    from levers.serving.evaluate import evaluate

    restored = restore(cfg.ckpt_path)
    data = OmegaConf.to_container(cfg.data, resolve=True)
    metrics = evaluate(restored, data, OmegaConf.to_container(cfg.trainer, resolve=True))
    for name, value in sorted(metrics.items()):
        print(f"{name}\t{value:.6g}")
    rows = data.get("path") or f"the test split of {restored.data.name} (seed {restored.seed})"
    return {"test": metrics, "rows": rows}


def predict_command(cfg: DictConfig) -> dict[str, Any]:
    from levers.serving.checkpoint import restore
    from levers.serving.predict import predict_file

    predictions = predict_file(restore(cfg.ckpt_path), cfg.input, cfg.output)
    log.info("wrote %d predictions to %s", len(predictions), cfg.output)
    return {"input": cfg.input, "output": cfg.output, "rows": len(predictions)}


def export_command(cfg: DictConfig) -> dict[str, Any]:
    from levers.serving.checkpoint import restore
    from levers.serving.export import export, sidecar

    path = export(restore(cfg.ckpt_path), cfg.format, cfg.output)
    log.info("exported %s (inputs and outputs described in %s)", path, sidecar(path))
    return {"format": cfg.format, "output": str(path), "description": str(sidecar(path))}


COMMANDS: dict[str, Callable[[DictConfig], dict[str, Any]]] = {
    "eval": eval_command,
    "predict": predict_command,
    "export": export_command,
}


REQUIRED = {"eval": ("ckpt_path",), "predict": ("ckpt_path", "input"), "export": ("ckpt_path",)}


def run_command(command: str, cfg: DictConfig) -> dict[str, Any]:
    """Run one command on its composed config and write its summary.json (status, checkpoint, what it found)."""
    unset = [key for key in REQUIRED[command] if OmegaConf.is_missing(cfg, key)]
    if unset:
        example = " ".join(f"{key}=..." for key in REQUIRED[command])
        raise LeversConfigError(unset[0], None, f"set, e.g. `levers {command} {example}`")
    summary = {"command": command, "ckpt_path": cfg.ckpt_path, **COMMANDS[command](cfg), "status": "completed"}
    write_json_atomic(Path(cfg.paths.output_dir) / "summary.json", summary, durable=True)
    return summary


def hydra_app(command: str) -> Callable[[], None]:
    """The console entry of one command: Hydra parses sys.argv; a bad value exits 2 with one line."""

    @hydra.main(version_base="1.3", config_path=hydra_config_path(), config_name=command)
    def app(cfg: DictConfig) -> None:
        mark_composed()
        route_lightning_logs_through_hydra()
        quiet_known_noise()
        try:
            run_command(command, cfg)
        except LeversConfigError as error:
            log.error("config error: %s", error)
            raise SystemExit(2) from None

    def entry() -> None:
        with interrupts_exit_like_a_shell(), composition_errors_exit_2():
            app()

    return entry
