"""Running an exported model the way its users would: TorchScript through torch.jit, ONNX through onnx's reference
evaluator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def exported_outputs(path: Path, fmt: str, features: torch.Tensor) -> np.ndarray:
    if fmt == "torchscript":
        return torch.jit.load(str(path))(features).detach().numpy()
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(str(path)).run(None, {"features": features.numpy()})[0]
