"""tools/torch_install.sh picks the torch build for the machine: the real script in a real bash, with a PATH that
holds only what each case needs (a fake `nvidia-smi` stands for a GPU), a real local HTTP server standing for a
reachable CPU index and a closed port for an unreachable one. --dry-run prints the pip command it would run."""

from __future__ import annotations

import functools
import http.server
import os
import shlex
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "torch_install.sh"
PIP = ["venv/bin/python", "-m", "pip", "install", "--quiet"]


def _closed_port_url() -> str:
    with socket.socket() as sock:  # bound then released: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/whl/cpu"


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH with curl and timeout only: no nvidia-smi."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("curl", "timeout"):
        (folder / tool).symlink_to(shutil.which(tool))
    return folder


@pytest.fixture
def served_index(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "site"
    (root / "whl" / "cpu").mkdir(parents=True)
    (root / "whl" / "cpu" / "index.html").write_text("<a href='torch/'>torch</a>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    server.shutdown()
    server.server_close()


def decide(bin_dir: Path, tmp_path: Path, **env: str) -> tuple[str, list[str]]:
    """(the line the script prints, the pip command it would run, as argv)."""
    environment = {
        "PATH": str(bin_dir),
        "TORCH_NVIDIA_PROC": str(tmp_path / "no-driver"),  # also on a machine that has the driver
        "TORCH_CPU_INDEX": env.pop("TORCH_CPU_INDEX", _closed_port_url()),
        **env,
    }
    done = subprocess.run(
        ["/bin/bash", str(SCRIPT), "--dry-run", "venv/bin/python"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    line, command = done.stdout.splitlines()
    return line, shlex.split(command)


def fake_nvidia_smi(bin_dir: Path, exit_code: int) -> None:
    tool = bin_dir / "nvidia-smi"
    tool.write_text(f"#!/bin/sh\necho 'GPU 0: NVIDIA H200'\nexit {exit_code}\n")
    tool.chmod(0o755)


def test_without_gpu_or_reachable_cpu_index_falls_back_to_the_plain_requirement(bin_dir, tmp_path):
    line, command = decide(bin_dir, tmp_path)
    assert command == [*PIP, "torch==2.13.0"]
    assert line.startswith("torch set-up: no NVIDIA GPU, but http://127.0.0.1:") and "did not answer" in line


def test_without_gpu_a_reachable_cpu_index_is_used(bin_dir, tmp_path, served_index):
    line, command = decide(bin_dir, tmp_path, TORCH_CPU_INDEX=served_index)
    assert command == [*PIP, "--index-url", served_index, "torch==2.13.0"]
    assert "no NVIDIA GPU: the CPU build from PyTorch's CPU index" in line


def test_a_gpu_gets_the_default_cuda_build_even_when_the_cpu_index_answers(bin_dir, tmp_path, served_index):
    fake_nvidia_smi(bin_dir, exit_code=0)
    line, command = decide(bin_dir, tmp_path, TORCH_CPU_INDEX=served_index)
    assert command == [*PIP, "torch==2.13.0"]
    assert "an NVIDIA GPU (nvidia-smi lists a GPU)" in line


def test_the_driver_folder_alone_counts_as_a_gpu(bin_dir, tmp_path, served_index):
    (tmp_path / "driver").mkdir()
    line, command = decide(bin_dir, tmp_path, TORCH_CPU_INDEX=served_index, TORCH_NVIDIA_PROC=str(tmp_path / "driver"))
    assert "--index-url" not in command and "an NVIDIA GPU" in line


def test_a_failing_nvidia_smi_is_no_gpu(bin_dir, tmp_path, served_index):
    fake_nvidia_smi(bin_dir, exit_code=9)  # installed, but no driver loaded
    line, command = decide(bin_dir, tmp_path, TORCH_CPU_INDEX=served_index)
    assert command == [*PIP, "--index-url", served_index, "torch==2.13.0"] and "no NVIDIA GPU" in line


def test_torch_index_and_torch_spec_override_the_choice(bin_dir, tmp_path):
    fake_nvidia_smi(bin_dir, exit_code=0)
    line, command = decide(bin_dir, tmp_path, TORCH_INDEX="https://example.org/whl/cu128", TORCH_SPEC="torch>=2.13")
    assert command == [*PIP, "--index-url", "https://example.org/whl/cu128", "torch>=2.13"]
    assert "TORCH_INDEX is set" in line


def test_torch_index_default_forces_the_plain_requirement(bin_dir, tmp_path, served_index):
    line, command = decide(bin_dir, tmp_path, TORCH_CPU_INDEX=served_index, TORCH_INDEX="default")
    assert "TORCH_INDEX=default" in line
    assert command == [*PIP, "torch==2.13.0"]


def test_make_setup_passes_its_variables_to_the_script(tmp_path):
    """`make -n` prints the recipe: the script gets the make variables (empty unless given)."""
    root = SCRIPT.parents[1]
    venv = tmp_path / "venv"
    done = subprocess.run(
        ["make", "-n", "-C", str(root), f"VENV={venv}", "TORCH_INDEX=https://example.org/x", "setup"],
        capture_output=True,
        text=True,
        env={**os.environ, "MAKEFLAGS": ""},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f'TORCH_SPEC="" TORCH_INDEX="https://example.org/x" tools/torch_install.sh {venv}/bin/python' in done.stdout
