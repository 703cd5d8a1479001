"""`python train.py --help`: every group with its options and what each one is, read from the option files.

Hydra's own `$APP_CONFIG_GROUPS` lists names only, and the schema groups too; this resolver (`${levers_groups:}`,
used by conf/hydra/help/levers.yaml) lists the groups a user flips, each option with the first comment line of its
YAML, so the help never drifts from the configs.
"""

from __future__ import annotations

from pathlib import Path

HIDDEN_GROUPS = ("hydra", "schema")


def describe_option(path: Path) -> str:
    """The option file's first comment line: its one-line description."""
    for line in path.read_text().splitlines():
        if line.startswith("#") and "@package" not in line:
            return " ".join(word for word in line.lstrip("# ").split() if not word.startswith("http"))
    return ""


def groups_help(width: int = 118) -> str:
    from levers.config.location import config_dir  # the conf/ this run composes from

    root = Path(config_dir())
    lines: list[str] = []
    for group in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in HIDDEN_GROUPS):
        lines.append(f"{group.name}:")
        for option in sorted(group.glob("*.yaml")):
            text = f"  {option.stem:<16} {describe_option(option)}"
            lines.append(text if len(text) <= width else text[: width - 3] + "...")
    return "\n".join(lines).replace("$", "$$")  # Hydra renders the help with string.Template
