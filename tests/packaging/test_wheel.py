"""The built wheel carries everything a run needs: a fresh environment trains from an empty directory."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from setuptools import find_packages

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from tests.conftest import ROOT


def test_every_package_under_src_is_listed_for_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set(find_packages(str(ROOT / "src"))) | {"hydra_plugins.levers_sweepers"}
    assert found - {"hydra_plugins"} <= listed
    assert {"levers.conf", "levers.examples"} <= listed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of what the sdist holds (setuptools writes build/ beside the sources)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for folder in ("src", "conf", "examples"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for file in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / file, source / file)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("levers-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_env(wheel, tmp_path_factory) -> Path:
    """A new venv holding the wheel alone; its dependencies (torch, Lightning, ...) are read from this one's
    site-packages through a path line, which runs none of that folder's .pth files (so not levers' editable hook)."""
    env = tmp_path_factory.mktemp("env") / "venv"
    venv.create(env, with_pip=False)
    target = next((env / "lib").glob("python*/site-packages"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (target / "dependencies.pth").write_text("\n".join(site.getsitepackages()))
    return env


@pytest.mark.slow
def test_the_installed_wheel_trains_the_default_from_an_empty_directory(fresh_env, tmp_path):
    python = fresh_env / "bin" / "python"
    env = {"PATH": os.environ["PATH"], "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)}
    where = subprocess.run(
        [str(python), "-c", "import levers, levers.conf; print(levers.__file__); print(levers.conf.__file__)"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    )  # fmt: skip
    assert all(str(fresh_env) in line for line in where.stdout.splitlines())
    result = subprocess.run(
        [str(python), "-m", "levers", "trainer.max_epochs=1", "quiet=true", "data=wage", "data.limit=300"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (tmp_path / "outputs" / "runs").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and "test/r2" in summary["test"]


@pytest.mark.slow
def test_the_installed_wheel_finds_its_sweeper_plugin(fresh_env, tmp_path):
    python = fresh_env / "bin" / "python"
    env = {"PATH": os.environ["PATH"], "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)}
    result = subprocess.run(
        [str(python), "-m", "levers", "-m", "model.depth=1,2", "trainer.max_epochs=1", "data.limit=200"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "outputs" / "multirun").iterdir()
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir() and not p.name.startswith(".")) == ["0", "1"]
