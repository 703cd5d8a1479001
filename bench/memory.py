"""Peak memory of preparing a large CSV (issue 12, section 5): rows, peak RSS, and its ratio to the prepared tensors.

Each size runs in its own subprocess, so that its peak (VmHWM) is its own. The child imports what preparing a
table needs (torch, numpy, pandas, pyarrow, Hydra, levers), notes its resident memory (the baseline), composes the
real `data=table` config and runs `levers.data.prepared.prepare` on a synthetic CSV of float features and an
integer class target. Two ratios are printed: the whole process's peak over the tensors' bytes, and the peak
above the import baseline over the tensors' bytes (what the data stage itself costs).

    .venv/bin/python bench/memory.py                      # 1M x 42
    .venv/bin/python bench/memory.py --rows 1000000 5000000 --columns 42 40
    .venv/bin/python bench/memory.py --levers-root /tmp/old-checkout --label before   # the same on other code
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "memory.json"
CHILD = r"""
import json, os, sys
import numpy, pandas, pyarrow, torch, hydra  # noqa: F401  (the baseline: what preparing a table imports)
from hydra import compose, initialize_config_dir
import levers.config  # noqa: F401
from levers.cli import config_dir
from levers.data.prepared import prepare
from levers.config.settings import data_settings

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field + ":"))

baseline = status("VmRSS")
path = sys.argv[1]
with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
    cfg = compose("train", overrides=["data=table", f"data.path={path}", "data.target=y"])
prepared = prepare(data_settings(cfg.data), cfg.scaling.method, cfg.seed)
print(json.dumps({"baseline": baseline, "peak": status("VmHWM"), "tensor_bytes": prepared.nbytes}))
"""


def write_csv(path: Path, rows: int, columns: int, seed: int = 0) -> None:
    """`columns - 1` float features (6 significant digits, as exported data usually has) and a 3-class target."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    names = [*(f"x{j}" for j in range(columns - 1)), "y"]
    schema = pa.schema([*(pa.field(name, pa.float64()) for name in names[:-1]), pa.field("y", pa.int64())])
    with pacsv.CSVWriter(path, schema) as writer:
        for start in range(0, rows, 250_000):
            n = min(250_000, rows - start)
            block = np.round(rng.normal(size=(n, columns - 1)), 5)
            arrays = [pa.array(block[:, j]) for j in range(columns - 1)] + [pa.array(rng.integers(0, 3, n))]
            writer.write_batch(pa.record_batch(arrays, schema=schema))


def measure(path: Path, levers_root: Path) -> dict[str, int]:
    """Prepare `path` in a fresh interpreter running the levers of `levers_root` (its src/ and conf/)."""
    env = {**os.environ, "PYTHONPATH": str(levers_root / "src"), "LEVERS_CONFIG_DIR": str(levers_root / "conf")}
    env.setdefault("OMP_NUM_THREADS", "1")
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"preparing {path} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--columns", type=int, nargs="+", default=[42], help="one per --rows, or one for all")
    parser.add_argument("--levers-root", type=Path, default=ROOT, help="checkout whose src/ and conf/ are measured")
    parser.add_argument("--label", default="after", help="results are stored under this name (others are kept)")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    columns = args.columns * len(args.rows) if len(args.columns) == 1 else args.columns
    results = []
    print(f"{'rows':>10} {'cols':>5} {'CSV MB':>8} {'tensors MB':>11} {'baseline MB':>12} {'peak MB':>8} "
          f"{'peak/tensors':>13} {'(peak-baseline)/tensors':>24}")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        for rows, width in zip(args.rows, columns, strict=True):
            path = Path(folder) / f"table_{rows}x{width}.csv"
            write_csv(path, rows, width)
            figures = measure(path, args.levers_root)
            mb = 1024**2
            row = {
                "rows": rows,
                "columns": width,
                "csv_bytes": path.stat().st_size,
                **figures,
                "ratio_total": round(figures["peak"] / figures["tensor_bytes"], 2),
                "ratio_above_baseline": round((figures["peak"] - figures["baseline"]) / figures["tensor_bytes"], 2),
            }
            results.append(row)
            path.unlink()
            print(f"{rows:>10} {width:>5} {row['csv_bytes'] / mb:>8.0f} {row['tensor_bytes'] / mb:>11.0f} "
                  f"{row['baseline'] / mb:>12.0f} {row['peak'] / mb:>8.0f} {row['ratio_total']:>13.2f} "
                  f"{row['ratio_above_baseline']:>24.2f}", flush=True)  # fmt: skip
    if not args.no_write:
        stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        stored[args.label] = {"levers_root": str(args.levers_root), "results": results}
        RESULTS.write_text(json.dumps(stored, indent=2) + "\n")


if __name__ == "__main__":
    main()
