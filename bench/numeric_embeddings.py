"""Numeric feature embeddings (model.numeric_embedding, Gorishniy et al. 2022) against the plain MLP on shipped tables:
the same seeds and settings for each, short runs, the mean (and spread) of the test metrics over the seeds.

    .venv/bin/python bench/numeric_embeddings.py           # wage, breast_cancer, diabetes, randhie (~6 min); writes
    .venv/bin/python bench/numeric_embeddings.py wage     # bench/results/numeric_embeddings.json
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from levers.api import train  # noqa: E402

SEEDS = (0, 1, 2)
EMBEDDINGS = ("none", "periodic", "piecewise")
EPOCHS = 20
TABLES = ("wage", "breast_cancer", "diabetes", "randhie")
SETTINGS = [f"trainer.max_epochs={EPOCHS}", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def measure(table: str, embedding: str, seed: int, folder: Path) -> dict[str, float]:
    started = time.perf_counter()
    result = train(f"data={table}", f"model.numeric_embedding={embedding}", f"seed={seed}", *SETTINGS, run_dir=folder)
    return {**{k: float(v) for k, v in result.metrics.items()}, "seconds": time.perf_counter() - started}


def spread(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.mean(values), "stdev": statistics.stdev(values)}


def main(tables: list[str]) -> dict:
    report: dict = {"seeds": list(SEEDS), "epochs": EPOCHS, "settings": SETTINGS, "tables": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for table in tables:
            report["tables"][table] = {}
            for embedding in EMBEDDINGS:
                runs = [measure(table, embedding, s, Path(scratch) / f"{table}-{embedding}-{s}") for s in SEEDS]
                summary = {name: spread([r[name] for r in runs]) for name in runs[0]}
                report["tables"][table][embedding] = summary
                shown = {k: round(v["mean"], 4) for k, v in summary.items() if k != "test/loss"}
                print(table, embedding, shown, flush=True)
    return report


if __name__ == "__main__":
    report = main(sys.argv[1:] or list(TABLES))
    out = ROOT / "bench" / "results" / "numeric_embeddings.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
