"""`levers eval | predict | export` on their typed settings (conf/<command>.yaml; the Hydra apps are in cli.py).

Each writes `summary.json` (and `<command>.log`) into its own run directory, prints what it found, and exits 2 with
one line on a bad value, like training.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from levers.config.schema.serving import EvalConfig, ExportConfig, PredictConfig, ServingConfig
from levers.io import write_json_atomic

log = logging.getLogger("levers")


def eval_command(cfg: EvalConfig) -> dict[str, Any]:
    from levers.serving.checkpoint import restore
    from levers.serving.evaluate import evaluate

    restored = restore(cfg.ckpt_path)
    data = cfg.data if isinstance(cfg.data, dict) else asdict(cfg.data)
    metrics = evaluate(restored, data, asdict(cfg.trainer))
    for name, value in sorted(metrics.items()):
        print(f"{name}\t{value:.6g}")
    rows = data.get("path") or f"the test split of {restored.data.name} (seed {restored.seed})"
    return {"test": metrics, "rows": rows}


def predict_command(cfg: PredictConfig) -> dict[str, Any]:
    from levers.serving.checkpoint import restore
    from levers.serving.predict import predict_file

    predictions = predict_file(restore(cfg.ckpt_path), cfg.input, cfg.output, cfg.emit)
    log.info("wrote %d rows of %s to %s", len(predictions), cfg.emit, cfg.output)
    return {"input": cfg.input, "output": cfg.output, "emit": cfg.emit, "rows": len(predictions)}


def export_command(cfg: ExportConfig) -> dict[str, Any]:
    from levers.serving.checkpoint import restore
    from levers.serving.export import export, sidecar

    path = export(restore(cfg.ckpt_path), cfg.format, cfg.output)
    log.info("exported %s (inputs and outputs described in %s)", path, sidecar(path))
    return {"format": cfg.format, "output": str(path), "description": str(sidecar(path))}


COMMANDS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "eval": eval_command,
    "predict": predict_command,
    "export": export_command,
}


def run_command(command: str, cfg: ServingConfig) -> dict[str, Any]:
    """Run one command on its settings and write its summary.json (status, checkpoint, what it found)."""
    summary = {"command": command, "ckpt_path": cfg.ckpt_path, **COMMANDS[command](cfg), "status": "completed"}
    write_json_atomic(Path(cfg.paths.output_dir) / "summary.json", summary, durable=True)
    return summary
