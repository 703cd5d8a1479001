"""`levers eval | predict | export key=value ...`: the same key=value style as training, checked up front."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from levers.errors import LeversConfigError

log = logging.getLogger("levers")

# command -> (required keys, optional keys with defaults)
ARGUMENTS: dict[str, tuple[tuple[str, ...], dict[str, str | None]]] = {
    "eval": (("ckpt_path",), {}),
    "predict": (("ckpt_path", "input", "output"), {}),
    "export": (("ckpt_path",), {"format": "torchscript", "output": None}),
}


def parse(command: str, argv: list[str]) -> dict[str, str | None]:
    required, optional = ARGUMENTS[command]
    allowed = (*required, *optional)
    values: dict[str, str | None] = dict(optional)
    for argument in argv:
        key, sep, value = argument.partition("=")
        if not sep:
            raise LeversConfigError("argument", argument, f"key=value, with key one of {', '.join(allowed)}")
        if key not in allowed:
            raise LeversConfigError(key, value, f"a key of `levers {command}`: {', '.join(allowed)}")
        values[key] = value
    absent = [key for key in required if key not in values]
    if absent:
        raise LeversConfigError(
            absent[0], None, f"set, e.g. `levers {command} {' '.join(f'{k}=...' for k in required)}`"
        )
    return values


def run_eval(args: dict) -> None:
    from levers.serving.checkpoint import restore
    from levers.serving.evaluate import evaluate

    metrics = evaluate(restore(args["ckpt_path"]))
    for name, value in sorted(metrics.items()):
        print(f"{name}\t{value:.6g}")


def run_predict(args: dict) -> None:
    from levers.serving.checkpoint import restore
    from levers.serving.predict import predict_file

    predictions = predict_file(restore(args["ckpt_path"]), args["input"], args["output"])
    log.info("wrote %d predictions to %s", len(predictions), args["output"])


def run_export(args: dict) -> None:
    from levers.serving.checkpoint import restore
    from levers.serving.export import export

    path = export(restore(args["ckpt_path"]), args["format"], args["output"])
    log.info("exported %s (inputs and outputs described in %s)", path, path.with_suffix(".json"))


RUNNERS: dict[str, Callable[[dict], None]] = {"eval": run_eval, "predict": run_predict, "export": run_export}


def entry(command: str) -> Callable[[], None]:
    """A console entry for one command: reads sys.argv, exits 2 with one line on a bad argument."""

    def _run() -> None:
        logging.basicConfig(level=logging.INFO, format="[%(name)s][%(levelname)s] - %(message)s")
        from levers.cli import quiet_known_noise

        quiet_known_noise()
        try:
            RUNNERS[command](parse(command, sys.argv[1:]))
        except LeversConfigError as error:
            log.error("config error: %s", error)
            raise SystemExit(2) from None

    return _run
