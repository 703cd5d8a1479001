"""Start-up (issue 6): a default run imports no heavy optional dependency that torch/Lightning/Hydra do not."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

from levers.cli import imports_kept_out_of_gc
from tests.conftest import CONF, ROOT

HEAVY = (
    "matplotlib",
    "optuna",
    "mlflow",
    "wandb",
    "tensorboard",
    "tensorboardX",
    "pandas",
    "statsmodels",
    "pyarrow",
    "onnx",
    "onnxruntime",
    "sklearn",
    "plotly",
)
# In one fresh process: what the bare stack imports, then what levers' training path and the default data add.
PROBE = f"""
import json, sys
HEAVY = {HEAVY!r}
loaded = lambda: sorted(name for name in HEAVY if name in sys.modules)
import torch, pytorch_lightning, hydra
bare = loaded()
import levers.cli, levers.run
from hydra import compose, initialize_config_dir
from levers.data.datamodule import TabularDataModule
from levers.config.settings import data_settings
imported = loaded()
with initialize_config_dir(config_dir={str(CONF)!r}, version_base="1.3"):
    cfg = compose("train")
data = TabularDataModule(data_settings(cfg.data), cfg.scaling.method, cfg.seed)
print(json.dumps({{"bare": bare, "imported": imported, "digits": loaded(), "rows": data.split_size("train")}}))
"""


def test_training_path_and_default_data_import_no_heavy_optional_dependency():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["rows"] > 0  # the digits data really was loaded and split
    assert sorted(set(found["imported"]) - set(found["bare"])) == []  # `import levers.cli, levers.run`
    assert sorted(set(found["digits"]) - set(found["bare"])) == []  # sklearn's digits, split: no sklearn/pandas


def test_heavy_imports_are_frozen_out_of_gc_once_and_gc_stays_on():
    gc.unfreeze()
    try:
        with imports_kept_out_of_gc():
            assert not gc.isenabled()  # no collections while torch/Lightning load
        frozen = gc.get_freeze_count()
        assert gc.isenabled() and frozen > 0
        objects_since = [[] for _ in range(1000)]  # tracked objects a second freeze would take in
        with imports_kept_out_of_gc():  # a later sweep job in the same process
            assert gc.isenabled()
        # Not frozen again: the count can only have shrunk (frozen objects other threads let go), never grown.
        assert gc.get_freeze_count() <= frozen
        del objects_since
    finally:
        gc.unfreeze()
