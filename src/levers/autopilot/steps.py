"""`levers auto [overrides...] [budget=N | budget=Ns]`: the practice guide's recipe, run for you.

1. Start simple and grow (guide: begin with the simplest model that could work): a linear/softmax model, then one
   hidden layer of 64, wider (256), deeper (2, then 3 layers), each a real run kept only while the monitored
   validation metric improves. A `model=` of the caller's own skips the growing.
2. Range-test the learning rate (`optimizer.lr=auto`) on the best shape; the number it picks is kept as a number.
3. Ask the doctor about the best run so far and try its top suggestions, each at the same budget; keep one only
   if the validation metric says it helped.
4. Retrain the winner with what is left of the budget, early stopping on, when its step used every epoch it was
   given (one that early stopping ended would repeat itself); keep it if it beat every step.

Every step is a run directory under the autopilot's folder; the test split is read once, for the final config,
and never chooses anything. The budget counts training epochs (or seconds of wall time) over all steps; a step
gets a sixth of it (at least 10 epochs), and none starts once it is spent. The story is in `auto.json` and
`auto.html`, the final config in `conf/experiment/auto.yaml` (rerun with the printed command).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from levers.errors import LeversConfigError, LeversRunFailed

DEFAULT_BUDGET_EPOCHS = 300
STEP_SHARE = 6  # a step gets at most budget / STEP_SHARE epochs
MIN_STEP_EPOCHS = 10
DOCTOR_TRIALS = 2
GROWTH = (  # (what the guide says, the model's shape as overrides)
    ("start simple: a linear model", ("model.depth=0",)),
    ("one hidden layer", ("model.depth=1", "model.width=64")),
    ("wider", ("model.depth=1", "model.width=256")),
    ("deeper: 2 layers", ("model.depth=2", "model.width=256")),
    ("deeper: 3 layers", ("model.depth=3", "model.width=256")),
)
AUTOPILOT_KEYS = ("model.depth", "model.width", "optimizer.lr", "trainer.max_epochs",
                  "callbacks.early_stopping.patience")  # fmt: skip


@dataclass(frozen=True)
class Budget:
    """Total training epochs, or seconds of wall time (`budget=120s`)."""

    amount: float
    unit: str  # epochs | seconds

    @classmethod
    def parse(cls, text: str | None) -> Budget:
        if text is None:
            return cls(DEFAULT_BUDGET_EPOCHS, "epochs")
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|seconds|epochs?)?\s*", text)
        if not found or float(found.group(1)) <= 0:
            raise LeversConfigError("budget", text, "a number of epochs (budget=200) or seconds (budget=90s), > 0")
        unit = "seconds" if (found.group(2) or "").startswith("s") else "epochs"
        if unit == "epochs" and float(found.group(1)) < MIN_STEP_EPOCHS:
            raise LeversConfigError("budget", text, f"at least {MIN_STEP_EPOCHS} epochs")
        return cls(float(found.group(1)), unit)


@dataclass
class Step:
    name: str
    overrides: list[str]  # the whole config's overrides beyond the caller's
    run_dir: str
    value: float | None = None  # the monitored validation metric's best value (None: the run failed)
    epochs: int = 0
    max_epochs: int = 0  # the step's cap: a step that stopped before it had converged, by early stopping
    seconds: float = 0.0
    kept: bool = False
    note: str = ""
    chosen_lr: float | None = None  # what an `optimizer.lr=auto` step's range test picked


@dataclass
class Autopilot:
    """State of one autopilot run: the caller's overrides, the budget, the steps so far and the best of them."""

    base: list[str]
    budget: Budget
    folder: Path
    steps: list[Step] = field(default_factory=list)
    best: Step | None = None
    monitor: str = "val/loss"
    mode: str = "min"
    started: float = field(default_factory=time.perf_counter)

    # --- budget ---------------------------------------------------------------------------------------
    def spent(self) -> float:
        if self.budget.unit == "seconds":
            return time.perf_counter() - self.started
        return float(sum(step.epochs for step in self.steps))

    def left(self) -> float:
        return self.budget.amount - self.spent()

    def step_epochs(self, final: bool = False) -> int:
        """Epochs the next step may train: a share of the budget (all that is left for the final retrain)."""
        if self.budget.unit == "seconds":
            return 1000 if final else 200  # wall time, not epochs, ends these steps (trainer.max_time)
        share = self.left() if final else min(self.left(), max(self.budget.amount / STEP_SHARE, MIN_STEP_EPOCHS))
        return max(int(share), 0)

    def can_step(self, final: bool = False) -> bool:
        if self.budget.unit == "seconds":
            return self.left() > 1.0
        return self.step_epochs(final) >= min(MIN_STEP_EPOCHS, self.budget.amount)

    # --- steps ----------------------------------------------------------------------------------------
    def run(self, name: str, overrides: Sequence[str], final: bool = False) -> Step | None:
        """Train one step (its own run directory) and keep it when it beats the best so far."""
        if not self.can_step(final):
            return None
        epochs = self.step_epochs(final)
        run_dir = self.folder / f"{len(self.steps) + 1:02d}_{_slug(name)}"
        limits = [f"trainer.max_epochs={epochs}", f"callbacks.early_stopping.patience={_patience(epochs)}"]
        if self.budget.unit == "seconds":
            limits.append(f"trainer.max_time={_max_time(self.left())}")
        step = Step(name, list(overrides), str(run_dir), max_epochs=epochs)
        started = time.perf_counter()
        try:
            result = _train([*merged(self.base, overrides), *limits, "quiet=true"], run_dir)
            step.value, step.epochs = result.best_value, int(result.summary.get("epochs_run", epochs))
            self.monitor = result.summary.get("monitor", self.monitor)
            self.mode = result.summary.get("monitor_mode", self.mode)
            if result.summary.get("lr_auto"):
                step.chosen_lr = float(f"{result.summary['lr_auto']['lr']:.3g}")
                step.note = f"the range test chose lr={step.chosen_lr:g}"
        except LeversRunFailed as failure:  # diverged, or stopped by a guard: its summary.json says why
            step.note = f"failed: {failure}"
            step.epochs = _epochs_of(run_dir)
        step.seconds = time.perf_counter() - started
        step.kept = self._better(step.value)
        if step.kept:
            self.best = step
        self.steps.append(step)
        _say(step, self.monitor)
        return step

    def _better(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.best is None or self.best.value is None:
            return True
        return value < self.best.value if self.mode == "min" else value > self.best.value

    def best_overrides(self) -> list[str]:
        return list(self.best.overrides) if self.best is not None else []


def _train(overrides: list[str], run_dir: Path) -> Any:
    from levers.api import train

    return train(*overrides, run_dir=run_dir)


def _epochs_of(run_dir: Path) -> int:
    import json

    path = run_dir / "summary.json"
    return int(json.loads(path.read_text()).get("epochs_run", 0)) if path.exists() else 0


def _patience(epochs: int) -> int:
    """Early stopping's patience for a step of `epochs`: a fifth of it, 5..20 (20 is the default run's)."""
    return max(5, min(20, epochs // 5))


def _max_time(seconds: float) -> str:
    """Lightning's `max_time` (DD:HH:MM:SS) for what is left of a seconds budget, at least one second."""
    total = max(1, int(seconds))
    return f"00:{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:40]


def _say(step: Step, monitor: str) -> None:
    value = "failed" if step.value is None else f"{monitor} {step.value:.4g}"
    verdict = "kept" if step.kept else "not kept"
    changes = " ".join(step.overrides) or "(defaults)"
    print(f"auto: {step.name} [{changes}]: {value}, {step.epochs} epochs, {step.seconds:.1f} s, {verdict}"
          + (f" ({step.note})" if step.note else ""), flush=True)  # fmt: skip


def with_override(overrides: Sequence[str], new: str) -> list[str]:
    """`overrides` with `new` in place of any override of the same key."""
    return merged(overrides, [new])


def merged(base: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """`base` then `overrides`, an override replacing the base's of the same key (Hydra refuses a key twice)."""
    keys = {_key(o) for o in overrides}
    return [*(o for o in base if _key(o) not in keys), *overrides]


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def grow(pilot: Autopilot) -> None:
    """Guide: start simple, then grow while validation improves (linear -> 1 layer -> wider -> deeper)."""
    for name, shape in GROWTH:
        step = pilot.run(name, [*pilot_extras(pilot), *shape])
        if step is None or (not step.kept and pilot.best is not None):
            return  # out of budget, or the bigger model did not help: stop growing


def pilot_extras(pilot: Autopilot) -> list[str]:
    """Overrides the best step carries besides its shape (none while growing)."""
    return [o for o in pilot.best_overrides() if _key(o) not in ("model.depth", "model.width")]


def range_test_lr(pilot: Autopilot) -> None:
    """Guide: the learning rate is the most important knob: test a range on the best shape; keep its pick."""
    step = pilot.run("range-test the learning rate", with_override(pilot.best_overrides(), "optimizer.lr=auto"))
    if step is not None and step.chosen_lr is not None:
        step.overrides = with_override(step.overrides, f"optimizer.lr={step.chosen_lr:g}")


def apply_doctor(pilot: Autopilot) -> None:
    """Ask the doctor about the best run; try its top suggestions at the same budget; keep what helped."""
    from levers.diagnostics.doctor import advise
    from levers.diagnostics.verify import candidates

    if pilot.best is None:
        return
    advice = advise(Path(pilot.best.run_dir))
    chosen, _ = candidates([s for item in advice for s in item.suggestions], DOCTOR_TRIALS)
    if not chosen:
        print("auto: the doctor found nothing to change", flush=True)
    base = pilot.best_overrides()
    for suggestion in chosen:
        if suggestion.override == "optimizer.lr=auto":
            continue  # the range test already ran
        pilot.run(f"doctor: {suggestion.reason[:60]}", with_override(base, suggestion.override))


def retrain(pilot: Autopilot) -> None:
    """The winner again with the rest of the budget, when its step ran into its epoch cap (still improving): a run
    that early stopping ended before the cap would only repeat itself, epoch for epoch (same seed, same config)."""
    best = pilot.best
    if best is None:
        return
    if best.epochs < best.max_epochs:
        print(f"auto: no retrain: the best step stopped early ({best.epochs} of {best.max_epochs} epochs)", flush=True)
        return
    pilot.run("retrain the best with the rest of the budget", pilot.best_overrides(), final=True)


def autopilot(overrides: Sequence[str], budget: Budget, folder: Path) -> Autopilot:
    """Run every stage in order; what each step did is in `pilot.steps`."""
    folder.mkdir(parents=True, exist_ok=True)
    taken = [o for o in overrides if _key(o) in AUTOPILOT_KEYS]
    if taken:
        allowed = "levers auto sets it; give data and other levers only"
        raise LeversConfigError(taken[0].split("=", 1)[0], taken[0].split("=", 1)[1], allowed)
    pilot = Autopilot(list(overrides), budget, folder)
    own_model = any(_key(o) == "model" and o != "model=mlp" for o in overrides)
    if own_model:
        pilot.run("your model as configured", [])
    else:
        grow(pilot)
    range_test_lr(pilot)
    apply_doctor(pilot)
    retrain(pilot)
    return pilot


def default_folder() -> Path:
    return Path("outputs") / "auto" / f"{datetime.now():%Y-%m-%d_%H-%M-%S}"


def as_record(pilot: Autopilot, final_test: dict[str, float]) -> dict[str, Any]:
    return {
        "base": pilot.base,
        "budget": asdict(pilot.budget),
        "spent": pilot.spent(),
        "monitor": pilot.monitor,
        "monitor_mode": pilot.mode,
        "steps": [asdict(step) for step in pilot.steps],
        "best_step": pilot.steps.index(pilot.best) + 1 if pilot.best is not None else None,
        "final_overrides": merged(pilot.base, pilot.best_overrides()),
        "final_test": final_test,
    }
