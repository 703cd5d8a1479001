"""MLflow's artifacts beside its tracking store, not in `./mlruns` of wherever the run was started.

An MLflow experiment created without an artifact location stores its runs' artifacts under `./mlruns` of the
current directory, whatever the tracking URI says, so a run with the default `sqlite:///outputs/mlflow.db` left a
`mlruns/` folder next to `outputs/`. For a local sqlite store this logger puts them in `mlartifacts/` beside the
database file (`outputs/mlartifacts`); a server or any other store keeps its own artifact location. The location is
MLflow's experiment setting: an experiment created before keeps the one it has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import MLFlowLogger as LightningMLFlowLogger

SQLITE = "sqlite:///"


def artifacts_beside(tracking_uri: str | None) -> str | None:
    """`<folder of the sqlite file>/mlartifacts` for a local sqlite store; None (MLflow decides) otherwise."""
    if not tracking_uri or not tracking_uri.startswith(SQLITE) or tracking_uri.endswith(":memory:"):
        return None
    database = Path(tracking_uri[len(SQLITE) :].split("?")[0])
    return str((database.parent / "mlartifacts").absolute())


class MLFlowLogger(LightningMLFlowLogger):
    def __init__(self, tracking_uri: str | None = None, artifact_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(
            tracking_uri=tracking_uri,
            artifact_location=artifact_location or artifacts_beside(tracking_uri),
            **kwargs,
        )
