"""Fine-tuning a pretrained backbone vs training it from scratch on a small target set (issue 19).

Source task: five of Fashion-MNIST's classes, `--source-rows` training images; a ResNet-18 (`model=backbone`)
trained there is the weights file. Target task: the other five classes, which the source never saw, with only
`--target-rows` images; tested on the official test images of those classes (5,000). `--split disjoint`: source
0-4 (t-shirt, trouser, pullover, dress, coat), target 5-9 (sandal, shirt, sneaker, bag, ankle boot), little in
common; `--split interleaved`: source the even classes, target the odd ones (trouser, dress, sandal, bag, boot
beside t-shirt, pullover, coat, shirt, sneaker): related shapes on both sides. Each target run is levers' default
otherwise (Adam 1e-3, early stopping on val/loss):

    scratch      model.weights=null                    every weight random
    head only    model.freeze=all_but_head             the body as pretrained, a new head trained on top
    fine-tune    model.freeze=none  optimizer.backbone_lr_mult=0.1   everything trains, the body 10x slower

Source and target share one fixed input normalization (`scaling=none` with Fashion-MNIST's pixel mean and std as
`model.input_mean/input_std`), as a pretrained network needs. Needs Debian's dataset-fashion-mnist package.
Writes bench/results/finetune.json.

    .venv/bin/python bench/finetune.py [--source-rows 12000] [--target-rows 100,500] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from overhead import quiet  # bench/overhead.py
from tables import run_levers  # bench/tables.py

RESULTS = Path(__file__).parent / "results" / "finetune.json"
# One fixed normalization for source and target (Fashion-MNIST's pixel mean and std), inside the network: a per-pixel
# scaler fitted on each task's own train split would feed the pretrained body inputs it never saw.
COMMON = ["data=fashion_mnist", "model=backbone", "model.name=resnet18", "scaling=none",
          "model.input_mean=[0.286]", "model.input_std=[0.353]"]  # fmt: skip
SPLITS = {"disjoint": ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9]), "interleaved": ([0, 2, 4, 6, 8], [1, 3, 5, 7, 9])}
VARIANTS = {
    "scratch": [],
    "head only": ["model.freeze=all_but_head"],
    "fine-tune": ["model.freeze=none", "optimizer.backbone_lr_mult=0.1"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-rows", type=int, default=12000)
    parser.add_argument("--source-epochs", type=int, default=3)
    parser.add_argument("--target-rows", default="100,500")
    parser.add_argument("--target-epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=sorted(SPLITS), default="disjoint")
    args = parser.parse_args()
    quiet()
    seed = f"seed={args.seed}"
    with tempfile.TemporaryDirectory() as scratch:
        source_classes, target_classes = (",".join(map(str, c)) for c in SPLITS[args.split])
        source = [*COMMON, f"data.classes=[{source_classes}]", f"data.limit={args.source_rows}", seed]
        wall, summary, _ = run_levers([*source, f"trainer.max_epochs={args.source_epochs}"], Path(scratch) / "source")
        weights = summary["best_checkpoint"]
        pretrained = {"test_acc": summary["test"]["test/acc"], "seconds": wall, "rows": args.source_rows}
        accuracy = pretrained["test_acc"]
        print(f"source (classes {source_classes}, {args.source_rows} rows): test/acc {accuracy:.4f} in {wall:.0f} s")
        rows = []
        for count in (int(n) for n in args.target_rows.split(",")):
            target = [*COMMON, f"data.classes=[{target_classes}]", f"data.limit={count}", "data.batch_size=32", seed]
            target.append(f"trainer.max_epochs={args.target_epochs}")
            for name, overrides in VARIANTS.items():
                weight = [] if name == "scratch" else [f"model.weights={weights}"]
                out = Path(scratch) / f"{count}-{name.replace(' ', '_')}"
                wall, summary, _ = run_levers([*target, *weight, *overrides], out)
                row = {"target_rows": count, "variant": name, "test_acc": summary["test"]["test/acc"],
                       "best_epoch": summary["best_epoch"], "seconds": wall}  # fmt: skip
                rows.append(row)
                print(f"{count:>5} rows  {name:<10} test/acc {row['test_acc']:.4f}  best epoch {row['best_epoch']:>2}  "
                      f"{wall:5.0f} s")  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    settings = {"seed": args.seed, "source_epochs": args.source_epochs, "target_epochs": args.target_epochs}
    results[args.split] = {"source": pretrained, "targets": rows, **settings}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
