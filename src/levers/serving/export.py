"""`levers export`: the inference path (scaling -> network -> probabilities / target units) as a standalone file.

The exported model takes encoded features (one-hot columns in `feature_names` order); the JSON written beside it
(`<model file>.json`: model.pt.json, model.onnx.json, so two formats of one checkpoint keep one each) lists those
names, the classes or targets, and the fitted encoding, for a consumer that starts from raw columns.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from levers.errors import LeversConfigError
from levers.serving.checkpoint import Restored
from levers.serving.predictor import build_predictor

FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}


def export(restored: Restored, fmt: str, output: str | None = None) -> Path:
    if fmt not in FORMATS:
        raise LeversConfigError("format", fmt, f"one of {', '.join(FORMATS)}")
    target = Path(output) if output else restored.path.with_suffix(FORMATS[fmt])
    target.parent.mkdir(parents=True, exist_ok=True)
    predictor = build_predictor(restored.module)
    example = torch.zeros(2, restored.num_features)
    if fmt == "torchscript":
        with torch.no_grad():
            torch.jit.trace(predictor, example).save(str(target))
    else:
        _export_onnx(predictor, example, target)
    description = {"format": fmt, "model": target.name, **describe(restored)}
    sidecar(target).write_text(json.dumps(description, indent=2))
    return target


def sidecar(model: Path) -> Path:
    """The description beside an exported model: its whole file name plus .json (model.onnx -> model.onnx.json)."""
    return model.with_name(f"{model.name}.json")


def _export_onnx(predictor: torch.nn.Module, example: torch.Tensor, target: Path) -> None:
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        raise LeversConfigError(
            "format", "onnx", "torchscript, or install onnx: pip install 'levers[export]'"
        ) from None
    torch.onnx.export(
        predictor,
        (example,),
        str(target),
        input_names=["features"],
        output_names=["output"],
        dynamic_axes={"features": {0: "rows"}, "output": {0: "rows"}},
        dynamo=False,
    )


def describe(restored: Restored) -> dict:
    encoder = restored.encoder
    return {
        "checkpoint": str(restored.path),
        "task": restored.task.kind,
        "feature_names": restored.feature_names(),
        "output": _output_names(restored),
        "encoder": encoder.state() if encoder else None,
    }


def _output_names(restored: Restored) -> list[str]:
    if restored.task.is_classification:
        return [f"prob_{c}" for c in restored.class_names]
    if restored.task.is_reconstruction:
        return [f"reconstructed_{name}" for name in restored.feature_names()]
    return restored.target_names
