"""README.md's Quickstart and Recipes run as written: every ```bash block under those headings, parsed from the
markdown, runs top to bottom in bash in a fresh temporary directory (the checkout's train.py and examples/, the
test's own environment as `.venv`), and every command must exit as README says: 0, or the code its comment names
("exits 1"). Blocks fenced as ```bash skip-test are not run (set-up with make, GPUs, Slurm); README's Development
section lists them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt  # rich's markdown parser, installed with levers

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECTIONS = ("Quickstart", "Recipes")
EXPECTED_EXIT = re.compile(r"#.*\bexits (\d+)\b")


@dataclass(frozen=True)
class Block:
    section: str
    line: int  # of the fence in README.md, 1-based
    info: str
    code: str

    @property
    def runs(self) -> bool:
        return self.info.split()[:1] == ["bash"] and "skip-test" not in self.info.split()


def readme_blocks(text: str) -> list[Block]:
    """The fenced blocks under each level-2 heading of SECTIONS (up to the next level-2 heading)."""
    blocks: list[Block] = []
    section = None
    tokens = MarkdownIt().parse(text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            section = tokens[index + 1].content.strip()
        elif token.type == "fence" and section in SECTIONS:
            blocks.append(Block(section, token.map[0] + 1, token.info.strip(), token.content))
    return blocks


def commands(code: str) -> list[tuple[int, str]]:
    """(line within the block, command) for each command, continuation lines joined; comments are not commands."""
    found: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(code.splitlines(), 1):
        if not pending:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = number
        pending.append(line)
        if not line.endswith("\\"):
            found.append((start, "\n".join(pending)))
            pending = []
    return found


def script(block: Block) -> str:
    """The block as one bash script (shell variables carry from line to line) that checks each exit code."""
    lines = []
    for number, command in commands(block.code):
        match = EXPECTED_EXIT.search(command.splitlines()[-1])
        expected = int(match.group(1)) if match else 0
        where = f"README.md line {block.line + number}"
        lines += [
            command,
            f'__rc=$?; if [ "$__rc" -ne {expected} ]; then echo "{where}: exit $__rc, README says {expected}" >&2; '
            "exit 97; fi",
        ]
    return "\n".join(lines) + "\n"


BLOCKS = readme_blocks(README.read_text())
RUNNABLE = [block for block in BLOCKS if block.runs]


def test_readme_has_runnable_blocks_in_every_section():
    assert {block.section for block in RUNNABLE} == set(SECTIONS)
    assert all(commands(block.code) for block in RUNNABLE)


# What a block not run here needs: set-up by make, a GPU, Slurm, or a run interrupted mid-way (resume).
NOT_RUNNABLE_HERE = re.compile(r"^make |trainer=gpu|trainer=ddp |slurm|#SBATCH|resume=", re.MULTILINE)


def test_only_blocks_that_cannot_run_here_are_skipped():
    """skip-test cannot hide a recipe that merely fails: each skipped block needs something this machine lacks."""
    skipped = [block for block in BLOCKS if "skip-test" in block.info.split()]
    assert skipped
    for block in skipped:
        assert NOT_RUNNABLE_HERE.search(block.code), f"README.md line {block.line}: why is it not run?"


def test_the_exit_check_fails_on_a_command_that_exits_otherwise(tmp_path):
    """The harness itself: a block whose command exits 3 where README would promise 0, and one promising 3."""
    broken = Block("Recipes", 10, "bash", "true\nbash -c 'exit 3'   # a step\necho after\n")
    honest = Block("Recipes", 10, "bash", "bash -c 'exit 3'   # exits 3\n")
    run = [subprocess.run(["bash", "-c", script(b)], capture_output=True, text=True) for b in (broken, honest)]
    assert run[0].returncode == 97 and "README.md line 12: exit 3, README says 0" in run[0].stderr
    assert "after" not in run[0].stdout
    assert run[1].returncode == 0


def checkout_copy(folder: Path) -> Path:
    """What README's commands use from the checkout, and nothing they wrote before."""
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "train.py", folder / "train.py")
    shutil.copytree(ROOT / "examples", folder / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return folder


def run_block(block: Block, folder: Path) -> subprocess.CompletedProcess:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": sys.prefix}
    return subprocess.run(
        ["bash", "-c", script(block)], cwd=checkout_copy(folder), env=env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def block_runs(request, tmp_path_factory) -> dict[Block, Future]:
    """Every selected block started at once, two at a time (each command is a one-thread process): in order
    within a block, each block in a fresh copy of its own, so the suite waits for the longest pair, not the sum."""
    selected = [
        item.callspec.params["block"]
        for item in request.session.items
        if item.originalname == "test_readme_block_runs_as_written"
    ]
    pool = ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1)))
    root = tmp_path_factory.mktemp("readme")
    runs = {block: pool.submit(run_block, block, root / f"block{block.line}") for block in selected}
    yield runs
    pool.shutdown(cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize("block", RUNNABLE, ids=[f"{b.section}-line{b.line}" for b in RUNNABLE])
def test_readme_block_runs_as_written(block: Block, block_runs):
    done = block_runs[block].result()
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
