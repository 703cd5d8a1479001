"""`levers auto [overrides...] [budget=N|Ns] [out=<folder>]`: the command around levers.autopilot.steps."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from levers.autopilot.page import command_line, render, write_experiment
from levers.autopilot.steps import Autopilot, Budget, as_record, autopilot, default_folder
from levers.errors import LeversConfigError
from levers.io import write_json_atomic
from levers.logging_setup import LightningInfoToFileOnly

USAGE = "usage: levers auto [data=... other overrides] [budget=300 | budget=120s] [out=<folder>]"


def main(argv: list[str]) -> int:
    """Exit 0 with a final config, 1 when no step finished, 2 on a bad argument."""
    if any(arg in ("-h", "--help") for arg in argv):
        from levers.autopilot import steps

        print(f"{USAGE}\n\n{steps.__doc__}")
        return 0
    budget_text = next((a.split("=", 1)[1] for a in argv if a.startswith("budget=")), None)
    out = next((a.split("=", 1)[1] for a in argv if a.startswith("out=")), None)
    overrides = [a for a in argv if not a.startswith(("budget=", "out="))]
    folder = Path(out) if out else default_folder()
    log_to(folder / "auto.log")
    try:
        pilot = autopilot(overrides, Budget.parse(budget_text), folder)
    except LeversConfigError as error:
        print(f"levers auto: config error: {error}", file=sys.stderr)
        return 2
    return finish(pilot)


def log_to(path: Path) -> None:
    """Every step's log lines into auto.log; the console gets levers' own lines and warnings, as a run's does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    console.addFilter(LightningInfoToFileOnly())
    file = logging.FileHandler(path)
    file.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(console)
    root.addHandler(file)


def finish(pilot: Autopilot) -> int:
    """auto.json, auto.html and the experiment file; the final command on the terminal."""
    final_test = _test_metrics(Path(pilot.best.run_dir)) if pilot.best is not None else {}
    record = as_record(pilot, final_test)
    best = pilot.best
    comment = "written by levers auto" + (f": best {pilot.monitor} {best.value:.4g} ({best.name})" if best else "")
    _, rerun = write_experiment(pilot.folder, record["final_overrides"], comment)
    write_json_atomic(pilot.folder / "auto.json", record)
    page = pilot.folder / "auto.html"
    page.write_text(render(record, rerun))
    if best is None:
        print(f"levers auto: no step finished; see {page}", file=sys.stderr)
        return 1
    print(f"auto: best step {record['best_step']} ({best.name}): {pilot.monitor} {best.value:.4g}")
    print(f"auto: final config:\n  {command_line(record['final_overrides'])}")
    print(f"auto: or rerun it:\n  {rerun}")
    print(f"auto: the story: {page}")
    return 0


def _test_metrics(run_dir: Path) -> dict[str, float]:
    path = run_dir / "summary.json"
    return json.loads(path.read_text()).get("test", {}) if path.exists() else {}
