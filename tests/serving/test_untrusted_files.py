"""Files are data: no checkpoint, pickle, URL or run directory makes levers run code, whichever command reads it.

Each poison below would write `pwned` if it were obeyed (tests/config/test_trust.py shows the target is live, and
`test_the_pickle_is_live_under_a_full_unpickle` shows the pickle is); every command must refuse it with one line
and leave no such file.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from levers.errors import LeversConfigError
from levers.run import train
from tests.conftest import ROOT, compose_cfg, levers_command

TINY = ["data.limit=200", "trainer.max_epochs=1"]


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    """One real, finished digits run; each test copies what it poisons."""
    run = tmp_path_factory.mktemp("good") / "run"
    cfg = compose_cfg(run, *TINY)
    train(cfg)
    (run / ".hydra").mkdir()
    OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
    return run


class Poison:
    """Copies a real file to `marker` when called: what an attacker's `_target_` or pickle would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return shutil.copyfile, (__file__, str(self.marker))


def with_stored_target(good_run: Path, folder: Path, marker: Path) -> Path:
    """The run's best checkpoint, its stored model node replaced by a file-writing `_target_`."""
    checkpoint = torch.load(good_run / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["levers"]["config"]["model"] = {"_target_": "shutil.copyfile", "src": __file__, "dst": str(marker)}
    torch.save(checkpoint, folder / "target.ckpt")
    return folder / "target.ckpt"


def with_pickle(good_run: Path, folder: Path, marker: Path) -> Path:
    """A checkpoint that also carries an object whose unpickling writes the marker."""
    checkpoint = torch.load(good_run / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["extra"] = Poison(marker)
    torch.save(checkpoint, folder / "pickle.ckpt")
    return folder / "pickle.ckpt"


@pytest.fixture
def served(tmp_path) -> Iterator[Callable[[Path], str]]:
    """Serves a file on 127.0.0.1 and counts the requests that reached the server."""
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def url_of(path: Path) -> str:
        return f"http://127.0.0.1:{server.server_address[1]}/{path.relative_to(tmp_path)}"

    url_of.requests = requests  # type: ignore[attr-defined]
    yield url_of
    server.shutdown()


def digits_rows(folder: Path) -> str:
    path = folder / "rows.csv"
    pd.DataFrame(np.zeros((3, 64)), columns=[f"x{i}" for i in range(64)]).to_csv(path, index=False)
    return str(path)


def serve_command(command: str, checkpoint: str, folder: Path) -> None:
    extra = {"predict": {"input": digits_rows(folder), "output": folder / "predictions.csv"}}
    extra["export"] = {"output": folder / "out.pt"}
    levers_command(command, folder / command, ckpt_path=checkpoint, **extra.get(command, {}))


COMMANDS = ["eval", "predict", "export", "train ckpt_path="]


def run_command(command: str, checkpoint: str, folder: Path) -> None:
    if command.startswith("train"):
        train(compose_cfg(folder / "new_run", *TINY, f"ckpt_path={checkpoint}"))
    else:
        serve_command(command, checkpoint, folder)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("poison", [with_stored_target, with_pickle])
def test_a_poisoned_local_checkpoint_writes_nothing(good_run, tmp_path, command, poison):
    marker = tmp_path / "pwned"
    checkpoint = poison(good_run, tmp_path, marker)
    with pytest.raises(LeversConfigError) as error:
        run_command(command, str(checkpoint), tmp_path)
    assert not marker.exists()
    assert str(checkpoint) in str(error.value)
    assert not (tmp_path / "out.pt").exists() and not (tmp_path / "predictions.csv").exists()


def test_the_pickle_is_live_under_a_full_unpickle(good_run, tmp_path):
    marker = tmp_path / "pwned"
    torch.load(with_pickle(good_run, tmp_path, marker), weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_remote_checkpoint_is_refused_before_it_is_fetched(good_run, tmp_path, served, command):
    marker = tmp_path / "pwned"
    url = served(with_pickle(good_run, tmp_path, marker))
    with pytest.raises(LeversConfigError, match=r"URLs are not read"):
        run_command(command, url, tmp_path)
    assert not marker.exists() and served.requests == []


@pytest.mark.parametrize(
    "poisoned_key",
    [
        ("model", {"_target_": "shutil.copyfile", "src": __file__, "dst": "{marker}"}),
        ("callbacks.early_stopping", {"_target_": "shutil.copyfile", "src": __file__, "dst": "{marker}"}),
        ("model.width", "${{oc.create:{{_target_: shutil.copyfile, src: {source}, dst: {marker}}}}}"),
    ],
    ids=["model", "callback", "interpolation"],
)
def test_resume_from_a_poisoned_run_config_writes_nothing(good_run, tmp_path, poisoned_key):
    marker, run = tmp_path / "pwned", tmp_path / "run"
    shutil.copytree(good_run, run)
    (run / "summary.json").unlink()  # as if killed mid-run: there is something to continue
    key, node = poisoned_key
    fill = {"marker": str(marker), "source": __file__}
    node = node.format(**fill) if isinstance(node, str) else {k: v.format(**fill) for k, v in node.items()}
    saved = OmegaConf.load(run / ".hydra" / "config.yaml")
    OmegaConf.update(saved, key, node, force_add=True)
    OmegaConf.save(saved, run / ".hydra" / "config.yaml")
    with pytest.raises(LeversConfigError, match=r"config.yaml: " + key.replace(".", r"\.")):
        train(compose_cfg(tmp_path / "ignored", f"resume={run}"))
    assert not marker.exists()


def test_resume_of_an_untouched_run_config_still_trains(good_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    (run / "summary.json").unlink()
    train(compose_cfg(tmp_path / "ignored", f"resume={run}", "trainer.max_epochs=2"))
    assert (run / "summary.json").exists()


def test_resume_of_a_completed_run_is_refused_and_its_summary_kept(good_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    before = (run / "summary.json").read_text()
    with pytest.raises(LeversConfigError, match=r"already completed: start a new run.*trainer.max_epochs"):
        train(compose_cfg(tmp_path / "ignored", f"resume={run}"))
    assert (run / "summary.json").read_text() == before


def test_cli_eval_of_a_poisoned_checkpoint_exits_2_with_one_line(good_run, tmp_path):
    marker = tmp_path / "pwned"
    checkpoint = with_stored_target(good_run, tmp_path, marker)
    result = subprocess.run(
        [sys.executable, "-c", "from levers.cli import main; main()", "eval", f"ckpt_path={checkpoint}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and not marker.exists()
    (line,) = [line for line in output.splitlines() if "config error" in line]
    assert "model._target_='shutil.copyfile' is not allowed: one of levers.models" in line


def test_resume_from_a_run_whose_last_checkpoint_is_a_poisoned_pickle_writes_nothing(good_run, tmp_path):
    marker, run = tmp_path / "pwned", tmp_path / "run"
    shutil.copytree(good_run, run)
    (run / "summary.json").unlink()
    with_pickle(good_run, tmp_path, marker).replace(run / "checkpoints" / "last.ckpt")
    with pytest.raises(LeversConfigError, match=r"^resume=.*it names code \(shutil.copyfile\)"):
        train(compose_cfg(tmp_path / "ignored", f"resume={run}"))
    assert not marker.exists()


def test_resume_from_a_url_is_refused_before_it_is_fetched(good_run, tmp_path, served):
    shutil.copytree(good_run, tmp_path / "run")
    with pytest.raises(LeversConfigError, match=r"^resume=.*a local run directory"):
        train(compose_cfg(tmp_path / "ignored", f"resume={served(tmp_path / 'run')}"))
    assert served.requests == []


def test_resume_refuses_a_run_config_that_writes_outside_the_run(good_run, tmp_path):
    run, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    shutil.copytree(good_run, run)
    (run / "summary.json").unlink()
    saved = OmegaConf.load(run / ".hydra" / "config.yaml")
    saved.callbacks.last_checkpoint.dirpath = str(elsewhere)
    OmegaConf.save(saved, run / ".hydra" / "config.yaml")
    with pytest.raises(LeversConfigError, match=r"callbacks.last_checkpoint.dirpath=.*a folder inside the run"):
        train(compose_cfg(tmp_path / "ignored", f"resume={run}"))
    assert not elsewhere.exists()


def test_a_checkpoints_callback_paths_outside_its_folder_are_forgotten_not_deleted(good_run, tmp_path):
    """Lightning deletes (recursively) the "previous best" a restored ModelCheckpoint names, when that path seems to
    lie in its own folder: `<new run>/checkpoints/../../victim` does, unresolved."""
    new_run, victim = tmp_path / "new", tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep")
    checkpoint = torch.load(good_run / "checkpoints" / "last.ckpt", weights_only=True)
    for state in checkpoint["callbacks"].values():
        if "best_model_path" in state:
            state["best_model_path"] = f"{new_run}/checkpoints/../../victim"
    torch.save(checkpoint, tmp_path / "crafted.ckpt")
    train(compose_cfg(new_run, "data.limit=200", "trainer.max_epochs=2", f"ckpt_path={tmp_path / 'crafted.ckpt'}"))
    assert (victim / "precious.txt").read_text() == "keep"
    assert json.loads((new_run / "summary.json").read_text())["status"] == "completed"


def test_a_run_config_that_reads_the_environment_is_refused(good_run, tmp_path, monkeypatch):
    monkeypatch.setenv("LEVERS_TEST_SECRET", "hunter2")
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    (run / "summary.json").unlink()
    saved = OmegaConf.load(run / ".hydra" / "config.yaml")
    saved.data.name = "${oc.env:LEVERS_TEST_SECRET}"
    OmegaConf.save(saved, run / ".hydra" / "config.yaml")
    with pytest.raises(LeversConfigError, match=r"data.name=.*of resolvers only example") as error:
        train(compose_cfg(tmp_path / "ignored", f"resume={run}"))
    assert "hunter2" not in str(error.value)


def test_a_run_config_that_is_not_a_mapping_is_one_line(good_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    (run / "summary.json").unlink()
    (run / ".hydra" / "config.yaml").write_text("- just\n- a list\n")
    with pytest.raises(LeversConfigError, match=r"^resume=.*a mapping of config groups"):
        train(compose_cfg(tmp_path / "ignored", f"resume={run}"))


def test_the_cli_eval_with_a_misspelt_key_exits_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from levers.cli import main; main()", "eval", "ckpt=x.ckpt"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr


def test_resume_from_a_run_whose_last_checkpoint_is_of_other_data_names_resume(good_run, tmp_path):
    other = tmp_path / "wine"
    train(compose_cfg(other, "data=wine", "trainer.max_epochs=1"))
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    (run / "summary.json").unlink()
    shutil.copy(other / "checkpoints" / "last.ckpt", run / "checkpoints" / "last.ckpt")
    with pytest.raises(LeversConfigError, match=r"^resume=.*a model with 64 input features \(this one has 13\)"):
        train(compose_cfg(tmp_path / "ignored", f"resume={run}"))
