"""levers on one CUDA GPU against a hand-written loop and the conventional Lightning set-up (issue 16, part 5).

The same three variants as bench/overhead.py (raw loop, peer pattern, levers' defaults), on the GPU, at batch 32,
256 and 2048 on digits and on the Fashion-MNIST subset, with levers in four settings: `data.on_device=auto` (the
split moved to the GPU once), plus `trainer.compile=true`, `trainer.precision=bf16-mixed`, and both. The raw loop
keeps its tensors on the GPU too (its best case); the peer pattern feeds a DataLoader from CPU tensors with
pinned memory (what the peers do). Alternated, medians of REPEATS, in one process. Writes bench/results/gpu.json.
On a machine without a CUDA GPU it prints that it skipped and writes the reason, exit 0.

    .venv/bin/python bench/gpu.py
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
from overhead import (  # bench/overhead.py: the same model, data, seed and timer
    BATCHES,
    FASHION_FILES,
    FASHION_LIMIT,
    LR,
    SEED,
    FitTimer,
    PeerModule,
    compose_cfg,
    new_model,
    quiet,
    train_tensors,
)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from levers.run import train

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "gpu.json"
REPEATS = 3
RAW_SECONDS = 1.0
LEVERS_SETTINGS = {
    "levers": [],
    "levers_compile": ["trainer.compile=true"],
    "levers_bf16": ["trainer.precision=bf16-mixed"],
    "levers_compile_bf16": ["trainer.compile=true", "trainer.precision=bf16-mixed"],
}


def time_raw(x: torch.Tensor, y: torch.Tensor, batch: int, epochs: int) -> float:
    """samples/s of a loop over GPU-resident tensors, synchronized at the end."""
    x, y = x.cuda(), y.cuda()
    model = new_model(x.shape[1], int(y.max()) + 1).cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator(device="cuda").manual_seed(SEED)
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator, device="cuda")
        xs, ys = x[order], y[order]
        for start in range(0, len(xs), batch):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(xs[start : start + batch]), ys[start : start + batch]).backward()
            optimizer.step()
    torch.cuda.synchronize()
    return epochs * len(x) / (time.perf_counter() - started)


def time_peer(x: torch.Tensor, y: torch.Tensor, batch: int, epochs: int) -> float:
    pl.seed_everything(SEED, verbose=False)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True, pin_memory=True)
    timer = FitTimer()
    with tempfile.TemporaryDirectory() as out:
        trainer = pl.Trainer(
            max_epochs=epochs,
            accelerator="gpu",
            devices=1,
            logger=pl.loggers.CSVLogger(out),
            callbacks=[timer],
            default_root_dir=out,
            enable_model_summary=False,
        )
        trainer.fit(PeerModule(x.shape[1], int(y.max()) + 1), loader)
    return timer.samples_per_s


def time_levers(overrides: list[str], batch: int, epochs: int) -> float:
    timer = FitTimer()
    with tempfile.TemporaryDirectory() as out:
        settings = [*overrides, "trainer=gpu", "data.on_device=auto"]
        cfg = compose_cfg(Path(out), [*settings, f"data.batch_size={batch}", f"trainer.max_epochs={epochs}"])
        with contextlib.redirect_stdout(sys.stderr):
            train(cfg, extra_callbacks=[timer])
    return timer.samples_per_s


def bench_one(data_overrides: list[str], x: torch.Tensor, y: torch.Tensor, batch: int) -> dict[str, float]:
    epochs = max(1, round(RAW_SECONDS * time_raw(x, y, batch, 1) / len(x)))
    variants: dict[str, Callable[[], float]] = {
        "raw": lambda: time_raw(x, y, batch, epochs),
        "peer": lambda: time_peer(x, y, batch, epochs),
        **{
            name: (lambda extra=extra: time_levers([*data_overrides, *extra], batch, epochs))
            for name, extra in LEVERS_SETTINGS.items()
        },
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(REPEATS):
        for name, run in variants.items():
            samples[name].append(run())
    row = {name: statistics.median(values) for name, values in samples.items()}
    row.update({f"{name}_over_raw": row[name] / row["raw"] for name in LEVERS_SETTINGS})
    row["epochs"] = epochs
    print(f"  batch {batch:>5}: " + "  ".join(f"{k} {row[k]:,.0f}" for k in variants), file=sys.stderr, flush=True)
    return row


def main() -> int:
    if not torch.cuda.is_available():
        reason = "skipped: no CUDA GPU on this machine (torch.cuda.is_available() is False)"
        print(f"bench/gpu.py {reason}")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"skipped": reason}, indent=2) + "\n")
        return 0
    quiet()
    sets = {"digits": ["data=digits"]}
    if (FASHION_FILES / "train-images-idx3-ubyte.gz").exists():
        sets["fashion_mnist"] = ["data=fashion_mnist", f"data.limit={FASHION_LIMIT}"]
    results: dict = {"device": torch.cuda.get_device_name(0)}
    for name, data_overrides in sets.items():
        x, y = train_tensors(data_overrides)
        print(f"{name}: {len(x)} train rows x {x.shape[1]} features", file=sys.stderr)
        results[name] = {str(b): bench_one(data_overrides, x, y, b) for b in BATCHES if b <= len(x)}
    print(f"\n{results['device']}; samples/s, medians of {REPEATS} alternating repetitions")
    print("| data | batch | raw | peer | " + " | ".join(LEVERS_SETTINGS) + " | best levers/raw |")
    print("|---|---:|---:|---:|" + "---:|" * len(LEVERS_SETTINGS) + "---:|")
    for name in sets:
        for batch, row in results[name].items():
            best = max(row[f"{n}_over_raw"] for n in LEVERS_SETTINGS)
            cells = " | ".join(f"{row[n]:,.0f}" for n in LEVERS_SETTINGS)
            print(f"| {name} | {batch} | {row['raw']:,.0f} | {row['peer']:,.0f} | {cells} | {best:.2f} |")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
