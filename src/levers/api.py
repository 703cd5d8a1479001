"""`levers.train(...)` from Python (a notebook, a script): the command line's config and run, with your own data.

    import levers
    result = levers.train("model.depth=3", "optimizer=nadam", data=frame, target="price")
    result.metrics["test/rmse"], result.run_dir, result.best_checkpoint
    result.predict(new_frame)

The overrides are the command line's (`python train.py model.depth=3 optimizer=nadam`), composed by Hydra's compose
API from the same `levers.conf`. A DataFrame or numpy arrays given as `data` are written into the run directory as a
Parquet table and trained on through `data=table`, the path every user table takes (typed, checked, encoded on the
train split only); the run goes through the same `levers.run.run` and leaves the same files (summary.json,
checkpoints, metrics.csv, .hydra/config.yaml). Predictions go through `levers predict`'s code.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from levers.errors import LeversConfigError

TABLE_FILE = "data.parquet"  # the caller's data, as the run trained on it


@dataclass
class Predictor:
    """A trained model and its saved scaling/encoding: `.predict(rows)` -> one row of predictions per input row."""

    checkpoint: Path
    feature_names: tuple[str, ...] = ()  # the column names of numpy training data (x0, x1, ...)
    _restored: Any = field(default=None, repr=False)

    def predict(self, rows: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """`levers predict` on a DataFrame (the training columns; extra ones are ignored) or a 2-d array with the
        training features in order: `prediction` and `prob_<class>` columns, or `predicted_<target>`."""
        from levers.serving.checkpoint import restore
        from levers.serving.predict import predict_frame

        if self._restored is None:
            self._restored = restore(self.checkpoint)
        return predict_frame(self._restored, as_frame(rows, self.feature_names, "rows"))


@dataclass
class TrainResult:
    """What a run left: its test metrics, monitored best value, directory, best checkpoint and summary.json."""

    metrics: dict[str, float]
    best_value: float | None
    run_dir: Path
    best_checkpoint: Path | None
    summary: dict[str, Any]
    feature_names: tuple[str, ...] = ()

    @property
    def predictor(self) -> Predictor:
        if self.best_checkpoint is None:
            folds = self.summary.get("cv", {}).get("k")
            where = f"one per fold in {self.run_dir}/fold_<i>/checkpoints" if folds else "none was written"
            raise LeversConfigError("best_checkpoint", None, f"a checkpoint of this run ({where})")
        return Predictor(self.best_checkpoint, self.feature_names)

    def predict(self, rows: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        return self.predictor.predict(rows)


def train(
    *overrides: str,
    data: pd.DataFrame | tuple[np.ndarray, np.ndarray] | None = None,
    target: str | Sequence[str] | None = None,
    run_dir: str | Path | None = None,
) -> TrainResult:
    """Train as `python train.py *overrides` would, on `data` if given; return what the run left.

    `data`: a DataFrame (then `target` names its target column, or a list of them) or `(X, y)` numpy arrays
    (columns x0, x1, ... and target y, or y0, y1, ... for a 2-d y). Without `data`, a `data=<option>` override or
    the default data set is used. `run_dir`: where the run writes (default: outputs/runs/<time>_<suffix>, as the
    command line). Bad values raise LeversConfigError naming the key, before anything trains.
    """
    from omegaconf import OmegaConf, open_dict

    import levers.config  # noqa: F401  (registers schemas and resolvers)
    from levers.logging_setup import quiet_known_noise
    from levers.run import run

    if data is not None and any(o.split("=", 1)[0].lstrip("+~") == "data" for o in overrides):
        raise LeversConfigError("data", "both", "either the data= argument or a data=<option> override")
    table, target_names, feature_names = (None, None, ()) if data is None else as_table(data, target)
    cfg = compose(("data=table", *overrides) if table is not None else overrides)  # a bad override: nothing written
    out = Path(run_dir) if run_dir is not None else default_run_dir()
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    if table is not None:
        path = out / TABLE_FILE
        table.to_parquet(path, index=False)
        cfg.data.path, cfg.data.target = str(path), target_names
    (out / ".hydra").mkdir(exist_ok=True)  # as a command-line run: `levers doctor`, `resume=` read it
    OmegaConf.save(cfg, out / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(list(overrides)), out / ".hydra" / "overrides.yaml")
    quiet_known_noise()
    best = run(cfg)
    return result_of(out, best, feature_names)


def compose(overrides: Sequence[str]):
    """conf/train.yaml with the overrides, from the config the command line uses (LEVERS_CONFIG_DIR or the package)."""
    import os

    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir, initialize_config_module
    from hydra.errors import ConfigCompositionException

    from levers.config.location import CONFIG_DIR_ENV, CONFIG_PACKAGE
    from levers.config.messages import MisspeltKeyOrOption, composition_error_line

    where = os.environ.get(CONFIG_DIR_ENV)
    context = (
        initialize_config_dir(config_dir=str(Path(where).resolve()), version_base="1.3")
        if where
        else initialize_config_module(CONFIG_PACKAGE, version_base="1.3")
    )
    with context:
        try:
            return hydra_compose("train", overrides=list(overrides))
        except ConfigCompositionException as error:
            line = composition_error_line(error)
            if line is None:
                raise
            raise MisspeltKeyOrOption(line) from None


def default_run_dir() -> Path:
    """outputs/runs/<date>_<time>_<pid>-<hex>, as `python train.py` names its runs (conf/hydra/default.yaml)."""
    import os

    return Path("outputs") / "runs" / f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{os.getpid()}-{secrets.token_hex(2)}"


def as_table(
    data: pd.DataFrame | tuple[np.ndarray, np.ndarray], target: str | Sequence[str] | None
) -> tuple[pd.DataFrame, str | list[str], tuple[str, ...]]:
    """(the table to write, its target column(s), the feature names numpy rows will get at prediction)."""
    if isinstance(data, pd.DataFrame):
        if target is None:
            raise LeversConfigError("target", None, f"the target column(s) of the DataFrame: one of {list(data)}")
        names = [target] if isinstance(target, str) else list(target)
        missing = [name for name in names if name not in data.columns]
        if missing:
            raise LeversConfigError("target", missing, f"columns of the DataFrame: {list(data.columns)}")
        return data, target if isinstance(target, str) else names, ()
    if not (isinstance(data, tuple) and len(data) == 2):
        raise LeversConfigError("data", type(data).__name__, "a pandas DataFrame or a tuple (X, y) of numpy arrays")
    features, labels = np.asarray(data[0]), np.asarray(data[1])
    if features.ndim != 2 or labels.ndim not in (1, 2) or len(features) != len(labels):
        raise LeversConfigError(
            "data", f"X {features.shape}, y {labels.shape}", "X of shape (rows, features), y of (rows,) or (rows, k)"
        )
    feature_names = tuple(f"x{i}" for i in range(features.shape[1]))
    frame = pd.DataFrame(features, columns=list(feature_names))
    if labels.ndim == 1:
        names: str | list[str] = target if isinstance(target, str) else "y"
        frame[names] = labels
    else:
        names = list(target) if target is not None else [f"y{i}" for i in range(labels.shape[1])]
        for i, name in enumerate(names):
            frame[name] = labels[:, i]
    return frame, names, feature_names


def as_frame(rows: pd.DataFrame | np.ndarray, feature_names: Sequence[str], key: str) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows
    array = np.asarray(rows)
    if array.ndim != 2 or (feature_names and array.shape[1] != len(feature_names)):
        raise LeversConfigError(key, f"an array of shape {array.shape}", f"(rows, {len(feature_names)}) features")
    return pd.DataFrame(array, columns=list(feature_names) or [f"x{i}" for i in range(array.shape[1])])


def result_of(run_dir: Path, best: float, feature_names: tuple[str, ...]) -> TrainResult:
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
    checkpoint = summary.get("best_checkpoint") or ""
    last = run_dir / "checkpoints" / "last.ckpt"
    best_checkpoint = Path(checkpoint) if checkpoint else last if last.exists() else None
    value = summary.get("best_value", best)
    return TrainResult(summary.get("test", {}), value, run_dir, best_checkpoint, summary, feature_names)
