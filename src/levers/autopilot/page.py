"""What `levers auto` leaves for a reader: one HTML page telling the story, the final config as an `experiment=` file
and as a command line. Plain HTML and an inline SVG chart: no script, nothing fetched."""

from __future__ import annotations

import html
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from levers.config.location import config_dir

EXPERIMENT_NAME = "auto"


def command_line(overrides: Sequence[str]) -> str:
    return " ".join(["python train.py", *(shlex.quote(o) for o in overrides)])


def experiment_yaml(overrides: Sequence[str], comment: str) -> str:
    """The overrides as an experiment file: group choices in its defaults list, keys as nested values."""
    groups = {path.name for path in Path(config_dir()).iterdir() if path.is_dir() and path.name[0] not in "_."}
    defaults, keys = [], []
    for override in overrides:
        key, _, value = override.lstrip("+").partition("=")
        if "." not in key and key in groups:
            defaults.append({f"override /{key}": value})
        else:
            keys.append(f"{key}={value}")
    body = OmegaConf.to_container(OmegaConf.from_dotlist(keys)) if keys else {}
    text = OmegaConf.to_yaml(OmegaConf.create({"defaults": [*defaults, "_self_"], **body}))
    return f"# @package _global_\n# {comment}\n{text}"


def write_experiment(folder: Path, overrides: Sequence[str], comment: str) -> tuple[Path, str]:
    """conf/experiment/auto.yaml under `folder`, and the command that reruns it."""
    path = folder / "conf" / "experiment" / f"{EXPERIMENT_NAME}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(experiment_yaml(overrides, comment))
    rerun = f"python train.py experiment={EXPERIMENT_NAME} 'hydra.searchpath=[file://{(folder / 'conf').resolve()}]'"
    return path, rerun


def render(record: dict[str, Any], rerun: str) -> str:
    steps = record["steps"]
    monitor = html.escape(record["monitor"])
    rows = "\n".join(_row(index, step, record["best_step"]) for index, step in enumerate(steps, 1))
    final = html.escape(command_line(record["final_overrides"]))
    tests = ", ".join(f"{html.escape(k)} {v:.4g}" for k, v in sorted(record["final_test"].items())) or "none"
    unit = record["budget"]["unit"]
    spent = f"{record['spent']:.0f} of {record['budget']['amount']:g} {unit}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>levers auto</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ padding: 6px 10px; border-bottom: 1px solid #ddd;
text-align: left; vertical-align: top; }} th {{ background: #f3f3f3; }} td.num {{ text-align: right; }}
tr.kept td:first-child {{ border-left: 4px solid #2a7; }} tr.best {{ background: #eefaf2; }}
code, pre {{ background: #f6f6f6; padding: 2px 4px; }} pre {{ padding: 10px; white-space: pre-wrap; }}
</style></head>
<body>
<h1>levers auto</h1>
<p>Each step is a real run; a step is <b>kept</b> when its best validation {monitor} beat every step before it.
The test split was not used to choose anything; it is read once, for the final config. Budget used: {spent}.</p>
{_chart(steps, record["monitor"], record["best_step"])}
<table>
<tr><th>#</th><th>step</th><th>overrides (beyond yours)</th><th>best {monitor}</th><th>epochs</th><th>time</th>
<th>verdict</th><th>run directory</th></tr>
{rows}
</table>
<h2>Final config</h2>
<p>Test metrics of the best step: {tests}.</p>
<pre>{final}</pre>
<p>Or rerun the experiment file it wrote:</p>
<pre>{html.escape(rerun)}</pre>
</body></html>
"""


def _row(index: int, step: dict[str, Any], best: int | None) -> str:
    value = "failed" if step["value"] is None else f"{step['value']:.4g}"
    classes = " ".join(c for c, on in (("kept", step["kept"]), ("best", index == best)) if on)
    verdict = "kept" if step["kept"] else "not kept"
    if step["note"]:
        verdict += f" ({html.escape(step['note'])})"
    folder = Path(step["run_dir"]).name
    return (
        f'<tr class="{classes}"><td>{index}</td><td>{html.escape(step["name"])}</td>'
        f"<td><code>{html.escape(' '.join(step['overrides']) or '(defaults)')}</code></td>"
        f'<td class="num">{value}</td><td class="num">{step["epochs"]}</td>'
        f'<td class="num">{step["seconds"]:.1f} s</td><td>{verdict}</td>'
        f"<td><code>{html.escape(folder)}</code></td></tr>"
    )


def _chart(steps: list[dict[str, Any]], monitor: str, best: int | None) -> str:
    """One bar per step, its height the validation metric; the best step's bar in green."""
    values = [s["value"] for s in steps if s["value"] is not None]
    if not values:
        return "<p>No step finished.</p>"
    width, height, pad = 900, 240, 40
    top, bottom = max(values), min(0.0, min(values))
    span = (top - bottom) or 1.0
    slot = (width - 2 * pad) / max(len(steps), 1)
    bars = []
    for index, step in enumerate(steps, 1):
        x = pad + (index - 1) * slot + slot * 0.15
        if step["value"] is None:
            bars.append(f'<text x="{x:.0f}" y="{height - pad - 4}" font-size="12">failed</text>')
            continue
        h = (step["value"] - bottom) / span * (height - 2 * pad)
        colour = "#2a7" if index == best else ("#7bc" if step["kept"] else "#bbb")
        y = height - pad - h
        bars.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{slot * 0.7:.0f}" height="{h:.0f}" fill="{colour}"/>'
                    f'<text x="{x:.0f}" y="{y - 4:.0f}" font-size="12">{step["value"]:.3g}</text>'
                    f'<text x="{x:.0f}" y="{height - pad + 16}" font-size="12">{index}</text>')  # fmt: skip
    axis = f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#444"/>'
    label = f'<text x="{pad}" y="16" font-size="13">best {html.escape(monitor)} per step (green: the best)</text>'
    return f'<svg width="{width}" height="{height}" role="img">{label}{axis}{"".join(bars)}</svg>'
