"""Compound scaling (issue 19): the CNN at phi = 0..3 on digits, with its parameters, FLOPs and measured accuracy.

Each phi is `python train.py model=cnn model.scale=<phi>` with levers' other defaults (early stopping on val/loss),
trained in process once per seed; FLOPs are torch's FlopCounterMode count for one image's forward pass (a multiply-add
counts 2). Digits' 8x8 images are upsampled inside the network to the scaled resolution (no finer pixels exist).
Writes bench/results/compound_scaling.json.

    .venv/bin/python bench/compound_scaling.py [--phis 0,1,2,3] [--seeds 0,1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch
from overhead import quiet  # bench/overhead.py
from tables import run_levers  # bench/tables.py
from torch.utils.flop_counter import FlopCounterMode

from levers.models.cnn import CNN

RESULTS = Path(__file__).parent / "results" / "compound_scaling.json"
DIGITS = (64, 10, [1, 8, 8])


def shape_figures(phi: float) -> dict:
    model = CNN(*DIGITS, scale=phi)
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, DIGITS[0]))
    blocks = [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    return {
        "phi": phi,
        "channels": blocks,
        "resolution": list(model.resolution),
        "params": sum(p.numel() for p in model.parameters()),
        "mflops": counter.get_total_flops() / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phis", default="0,1,2,3")
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args()
    quiet()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for phi in (float(p) for p in args.phis.split(",")):
            row = shape_figures(phi)
            accuracies, seconds = [], []
            for seed in (int(s) for s in args.seeds.split(",")):
                out = Path(scratch) / f"phi{phi}-seed{seed}"
                wall, summary, _ = run_levers(["model=cnn", f"model.scale={phi}", f"seed={seed}"], out)
                accuracies.append(summary["test"]["test/acc"])
                seconds.append(wall)
            row |= {"test_acc_mean": statistics.mean(accuracies), "test_acc": accuracies, "seconds": seconds}
            rows.append(row)
    header = f"{'blocks (channels)':<22} {'input':>6} {'params':>8} {'MFLOPs':>7} {'test acc':>9} {'s/run':>6}"
    print(f"{'phi':>3}  {header}")
    for row in rows:
        blocks = f"{len(row['channels'])} {row['channels']}"
        print(
            f"{row['phi']:>3g}  {blocks:<22} {'x'.join(map(str, row['resolution'])):>6} {row['params']:>8,} "
            f"{row['mflops']:>7.2f} {row['test_acc_mean']:>9.4f} {statistics.mean(row['seconds']):>6.1f}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"data": "digits", "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
