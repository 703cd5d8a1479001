"""`python train.py --help`: every group with its options and what each one is, read from the option files.

Hydra's own `$APP_CONFIG_GROUPS` lists names only, and the schema groups too; this resolver (`${levers_groups:}`,
used by conf/hydra/help/levers.yaml) lists the groups a user flips, each option with the first sentence of its YAML's
first comment (wrapped, never cut), so the help never drifts from the configs.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

HIDDEN_GROUPS = ("hydra", "schema")
# A sentence ends at ". " (not "e.g. ", "i.e. ", "etc. "), "! " or "? ", or at the end of the text.
SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!etc)[.!?](?=\s|$)")
CONTINUED = re.compile(r"# [^\sA-Z]")  # a comment line that goes on with the sentence above it (not a code line)


def describe_option(path: Path) -> str:
    """The option's description: the first sentence of its file's first comment, which may run over the next
    comment lines (the file wraps it), never cut mid-sentence; links are left out."""
    comments = [line for line in path.read_text().splitlines() if "@package" not in line]
    text = ""
    for line in comments:
        if not line.startswith("#") or (text and (SENTENCE_END.search(text) or not CONTINUED.match(line))):
            break
        text = f"{text} {line.lstrip('# ')}" if text else line.lstrip("# ")
    end = SENTENCE_END.search(text)
    sentence = text[: end.end()] if end else text
    return " ".join(word for word in sentence.split() if not word.startswith("http")).rstrip(":")


def groups_help(width: int = 118) -> str:
    from levers.config.location import config_dir  # the conf/ this run composes from

    root = Path(config_dir())
    lines: list[str] = []
    groups = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in HIDDEN_GROUPS and p.name[0] not in "_.")
    name_width = max(len(option.stem) for group in groups for option in group.glob("*.yaml"))
    indent = " " * (name_width + 3)  # a long description goes on under itself, not under the names
    for group in groups:
        lines.append(f"{group.name}:")
        for option in sorted(group.glob("*.yaml")):
            text = f"  {option.stem:<{name_width}} {describe_option(option)}"
            lines.extend(textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False))
    return "\n".join(lines).replace("$", "$$")  # Hydra renders the help with string.Template
