"""The boundaries docs/architecture.md promises, checked on the source: who may see the whole config."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "levers"
# The entries Hydra hands the composed config, the composition root and the flow on what it built, and the
# Hydra callback (Hydra's interface passes it the config). config/ reads configs by definition.
SEES_THE_WHOLE_CONFIG = {"cli.py", "build.py", "run.py", "sweeps/hydra_callback.py"}


def modules_importing(name: str) -> set[str]:
    found = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(alias.name == name for alias in node.names):
                found.add(path.relative_to(SRC).as_posix())
    return found


def test_only_the_entries_and_the_composition_root_import_dictconfig_outside_config():
    outside_config = {module for module in modules_importing("DictConfig") if not module.startswith("config/")}
    assert outside_config == SEES_THE_WHOLE_CONFIG


def test_the_data_stage_and_the_diagnostics_never_import_the_composition_root():
    for area in ("data", "diagnostics", "models"):
        for path in (SRC / area).rglob("*.py"):
            tree = ast.parse(path.read_text())
            imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
            assert not imported & {"levers.build", "levers.run", "levers.cli"}, path
