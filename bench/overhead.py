"""Samples/s of levers' training path against a hand-written loop and the conventional Lightning set-up (issue 6).

One process times, alternating and with medians over repetitions (the machine is noisy: only alternating runs in one
process compare), three variants on the same MLP, data, optimizer (Adam, lr 1e-3) and seed:
  raw    - a hand-written loop slicing shuffled in-memory tensors (no gradient clipping);
  peer   - Lightning with TensorDataset + DataLoader(shuffle=True), per-step `self.log`, the default progress bar,
           a CSVLogger and checkpointing (what the peers do);
  levers - `levers.run.train` with its defaults (no gradient clipping either; steps_per_call=auto, validation,
           early-stopping monitoring, best + last checkpoints and metrics.csv every epoch, the progress bar), timed
           from `on_train_start` to `on_train_end` only, so data loading, the test pass and the doctor are not
           counted.
It also prints the start-up time (process start to first training step) next to the bare import time, and the peak
RSS. Writes bench/results/overhead.json. Not part of the test suite.

    .venv/bin/python bench/overhead.py
"""

from __future__ import annotations

import contextlib
import json
import logging
import resource
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict
from startup import startup_times  # bench/startup.py: `python train.py` to its first step
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import levers.config  # noqa: F401  (registers schemas and resolvers)
from levers.cli import quiet_known_noise
from levers.config.location import config_dir
from levers.config.settings import data_settings
from levers.data.datamodule import TabularDataModule
from levers.models.mlp import MLP
from levers.run import train

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "overhead.json"
BATCHES = (32, 256, 2048)
REPEATS = 3
RAW_SECONDS = 1.2  # epochs are chosen so the raw loop takes about this long; the slower variants take 1-3 s
FASHION_LIMIT = 20_000  # Fashion-MNIST rows kept, for time's sake
FASHION_FILES = Path("/usr/share/datasets/fashion-mnist")
LR, SEED = 1e-3, 42
COMMON = [
    "callbacks.early_stopping.patience=1000000",  # monitored every epoch as by default, but never stops the run
    "regularization=none",
    "model.depth=2",
    "model.width=256",
    "optimizer=adam",
    f"optimizer.lr={LR}",
    f"seed={SEED}",
    "trainer.enable_progress_bar=true",
]


def compose_cfg(output_dir: Path, overrides: list[str]) -> DictConfig:
    """The real conf/train.yaml composed as `python train.py <overrides>` would, writing into output_dir."""
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=[*COMMON, *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


def new_model(in_features: int, out_features: int) -> nn.Module:
    """The MLP every variant trains, seeded the same way."""
    torch.manual_seed(SEED)
    return MLP(in_features, out_features, depth=2, width=256)


def time_raw(x: torch.Tensor, y: torch.Tensor, batch: int, epochs: int) -> float:
    """samples/s of the limit: shuffled in-memory tensors sliced per step, nothing else (no clipping)."""
    model = new_model(x.shape[1], int(y.max()) + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(SEED)
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        xs, ys = x[order], y[order]
        for start in range(0, len(xs), batch):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[start : start + batch]), ys[start : start + batch])
            loss.backward()
            optimizer.step()
    return epochs * len(x) / (time.perf_counter() - started)


class FitTimer(pl.Callback):
    """Times trainer.fit from its first to its last training hook and counts the samples trained on."""

    fused_steps_safe = True  # counts rows, whatever a batch holds: levers may fuse steps (levers.fused_steps)

    def __init__(self) -> None:
        self.samples, self.started, self.ended = 0, 0.0, 0.0
        self.steps_per_call = 1  # optimizer steps per Lightning step the run used (levers.fused_steps)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.started = time.perf_counter()
        fused = getattr(pl_module, "fused_steps", None)
        self.steps_per_call = fused.plan.steps if fused else 1

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        self.samples += len(batch[-1])

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.ended = time.perf_counter()

    @property
    def samples_per_s(self) -> float:
        return self.samples / (self.ended - self.started)


class PeerModule(pl.LightningModule):
    """The conventional LightningModule: loss per step, logged per step with self.log."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.model = new_model(in_features, out_features)
        self.loss_fn = nn.CrossEntropyLoss()

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = self.loss_fn(self.model(x), y)
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=LR)


def time_peer(x: torch.Tensor, y: torch.Tensor, batch: int, epochs: int) -> float:
    """samples/s of the peer pattern: DataLoader over a TensorDataset, default bar, CSV logger, checkpoints."""
    pl.seed_everything(SEED, verbose=False)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    timer = FitTimer()
    with tempfile.TemporaryDirectory() as out:
        trainer = pl.Trainer(
            max_epochs=epochs,
            accelerator="cpu",
            logger=pl.loggers.CSVLogger(out),
            callbacks=[timer],
            default_root_dir=out,
            enable_model_summary=False,
        )
        trainer.fit(PeerModule(x.shape[1], int(y.max()) + 1), loader)
    return timer.samples_per_s


def time_levers(overrides: list[str], batch: int, epochs: int) -> tuple[float, int]:
    """(samples/s, steps per call) of levers.run.train with its defaults, counting trainer.fit only (validation
    every epoch included)."""
    timer = FitTimer()
    with tempfile.TemporaryDirectory() as out:
        cfg = compose_cfg(Path(out), [*overrides, f"data.batch_size={batch}", f"trainer.max_epochs={epochs}"])
        with contextlib.redirect_stdout(sys.stderr):  # its per-run final table would bury ours
            train(cfg, extra_callbacks=[timer])
    return timer.samples_per_s, timer.steps_per_call


def pick_epochs(x: torch.Tensor, y: torch.Tensor, batch: int) -> int:
    """Epochs that make the raw loop take about RAW_SECONDS (one warm-up epoch measures it)."""
    sps = time_raw(x, y, batch, 1)
    return max(1, round(RAW_SECONDS * sps / len(x)))


def bench_one(data_overrides: list[str], x: torch.Tensor, y: torch.Tensor, batch: int) -> dict[str, float]:
    """Medians over REPEATS of the three variants, alternated so drifts in machine load hit all three alike."""
    epochs = pick_epochs(x, y, batch)
    steps_per_call: list[int] = []

    def levers() -> float:
        sps, steps = time_levers(data_overrides, batch, epochs)
        steps_per_call.append(steps)
        return sps

    variants: dict[str, Callable[[], float]] = {
        "raw": lambda: time_raw(x, y, batch, epochs),
        "peer": lambda: time_peer(x, y, batch, epochs),
        "levers": levers,
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(REPEATS):
        for name, run in variants.items():
            samples[name].append(run())
    row = {name: statistics.median(values) for name, values in samples.items()}
    row["levers_over_raw"] = row["levers"] / row["raw"]
    row["levers_over_peer"] = row["levers"] / row["peer"]
    row["epochs"] = epochs
    row["steps_per_call"] = steps_per_call[-1]
    print(
        f"  batch {batch:>5} ({epochs} epochs): " + "  ".join(f"{k} {v:,.0f}" for k, v in row.items() if k in variants),
        file=sys.stderr,
        flush=True,
    )
    return row


def train_tensors(data_overrides: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The train split exactly as levers prepares it (same rows, split and scaling)."""
    with tempfile.TemporaryDirectory() as out:
        cfg = compose_cfg(Path(out), data_overrides)
    x, y = TabularDataModule(data_settings(cfg.data), cfg.scaling.method, cfg.seed).tensors["train"]
    return x, y


def bench_dataset(name: str, data_overrides: list[str]) -> dict[str, dict[str, float] | str]:
    """Every batch size on one data set; a batch larger than the train split is skipped (levers refuses it)."""
    x, y = train_tensors(data_overrides)
    size_mb = (x.numel() * x.element_size() + y.numel() * y.element_size()) / 2**20
    print(f"{name}: {len(x)} train rows x {x.shape[1]} features ({x.dtype}, {size_mb:.1f} MB)", file=sys.stderr)
    rows: dict[str, dict[str, float] | str] = {}
    for batch in BATCHES:
        if batch > len(x):
            rows[str(batch)] = f"skipped: batch {batch} > {len(x)} train rows"
            print(f"  batch {batch}: {rows[str(batch)]}", file=sys.stderr)
            continue
        rows[str(batch)] = bench_one(data_overrides, x, y, batch)
    return rows


def print_table(results: dict) -> None:
    """The table for the issue and the README (Markdown)."""
    print("| data | batch | steps/call | epochs | raw | peer | levers | levers/raw | levers/peer |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, rows in results.items():
        if not isinstance(rows, dict):
            continue
        for batch, row in rows.items():
            if isinstance(row, str):
                print(f"| {name} | {batch} | | | {row} | | | | |")
                continue
            print(
                f"| {name} | {batch} | {row['steps_per_call']} | {row['epochs']} | {row['raw']:,.0f} | "
                f"{row['peer']:,.0f} | {row['levers']:,.0f} | {row['levers_over_raw']:.2f} | "
                f"{row['levers_over_peer']:.2f} |"
            )


def quiet() -> None:
    """Keep Lightning's and levers' per-run chatter out of the table (progress bars still draw, on stderr)."""
    quiet_known_noise()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)


def main() -> None:
    quiet()
    torch.set_num_threads(1)
    results: dict = {"digits": bench_dataset("digits", ["data=digits"])}
    if (FASHION_FILES / "train-images-idx3-ubyte.gz").exists():
        results["fashion_mnist"] = bench_dataset("fashion_mnist", ["data=fashion_mnist", f"data.limit={FASHION_LIMIT}"])
    else:
        print(f"fashion_mnist skipped: {FASHION_FILES} is absent (apt-get install dataset-fashion-mnist)")
    results["startup_s"], results["import_s"] = startup_times()
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print_table(results)
    print(
        f"\nsamples/s, medians of {REPEATS} alternating repetitions in one process; torch.set_num_threads(1) "
        f"(2-core machine, other processes running). MLP depth 2 width 256, Adam lr {LR}, seed {SEED}.\n"
        "Neither raw nor levers clips gradients (levers' default trainer.gradient_clip_val is null); "
        "peer does not either.\n"
        "levers and peer are timed over trainer.fit only (on_train_start..on_train_end); levers' time includes its "
        "per-epoch validation pass, peer has none. raw is timed over its epochs only.\n"
        "levers runs its defaults, among them trainer.deterministic=true; peer runs Lightning's (deterministic off).\n"
        f"fashion_mnist uses data.limit={FASHION_LIMIT} (train split of those rows)."
    )
    print(
        f"start-up (process start -> first training step, default digits run): {results['startup_s']:.2f} s; "
        f"`import torch, pytorch_lightning, hydra`: {results['import_s']:.2f} s; "
        f"difference {results['startup_s'] - results['import_s']:.2f} s (start-up runs use torch's default threads)"
    )
    print(f"peak RSS of this process: {results['peak_rss_mb']:.0f} MB")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
