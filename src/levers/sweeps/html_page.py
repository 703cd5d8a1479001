"""One self-contained HTML page: the charts embedded as base64 PNGs, the leaderboard and the per-configuration table;
no script, no CDN, no other file."""

from __future__ import annotations

import base64
import math
from html import escape

from levers.sweeps.charts import Chart
from levers.sweeps.jobs import is_failure
from levers.sweeps.leaderboard import Leaderboard, readable_table
from levers.sweeps.repeats import REPEAT_KEYS, ConfigResult

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; font-size: 12px; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; white-space: nowrap; }
td.wrap { white-space: normal; word-break: break-all; min-width: 30em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { color: #b00020; } tr.pruned td { color: #777; } tr.best td { font-weight: bold; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; } figcaption { font-weight: bold; }
code { background: #f4f4f4; padding: 2px 4px; } .note { color: #555; }
"""


def render_page(board: Leaderboard, charts: list[Chart], sweep_dir: str, importances: dict[str, float] | None = None,
                importance_note: str = "", configs: list[ConfigResult] | None = None) -> str:  # fmt: skip
    best = board.best
    best_html = (
        f"<p>Best: job <b>{escape(best.name)}</b>, {escape(board.monitor)} = {best.value:.4g} ({board.mode}); "
        f"directory <code>{escape(str(best.path))}</code><br>command: <code>{escape(best.command)}</code></p>"
        if best
        else "<p>No job completed.</p>"
    )
    failed = sum(is_failure(job.status) for job in board.jobs)
    constants = board.constant_params
    constants_html = (
        "<p>Same in every job: " + ", ".join(f"<code>{escape(k)}={escape(v)}</code>" for k, v in constants.items())
        + "</p>" if constants else ""
    )  # fmt: skip
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>levers sweep report</title><style>{STYLE}</style></head>
<body>
<h1>Sweep report</h1>
<p><code>{escape(sweep_dir)}</code>: {len(board.jobs)} jobs, {failed} failed; ranked by {escape(board.monitor)}
({board.mode}).</p>
{constants_html}
{best_html}
{importance_html(importances or {}, importance_note)}
{configs_html(board, configs or [])}
{figures_html(charts)}
<h2>Leaderboard</h2>
{table_html(board)}
</body></html>
"""


def figures_html(charts: list[Chart]) -> str:
    return "\n".join(
        f'<figure id="chart-{chart.name}"><figcaption>{escape(chart.title)}</figcaption>'
        f'<img alt="{escape(chart.title)}" src="data:image/png;base64,{base64.b64encode(chart.data).decode()}">'
        "</figure>"
        for chart in charts
    )


def importance_html(importances: dict[str, float], note: str) -> str:
    if not importances:
        return f'<p class="note" id="importance">Hyperparameter importance: not computed ({escape(note)}).</p>'
    rows = "".join(f"<tr><td>{escape(k)}</td><td class='num'>{v:.3f}</td></tr>" for k, v in importances.items())
    return (
        '<h2 id="importance">Which lever mattered</h2><p class="note">Optuna\'s fANOVA importance over the completed '
        "jobs (each job a trial of an in-memory study; seeds and folds left out): the share of the metric's "
        f"variance each lever explains.</p><table><tr><th>lever</th><th>importance</th></tr>{rows}</table>"
    )


def configs_html(board: Leaderboard, configs: list[ConfigResult]) -> str:
    """Mean +- std over each configuration's repeats (seeds, folds), best mean first."""
    if not configs:
        return ""
    keys = list(configs[0].params)
    head = "".join(f"<th>{escape(k)}</th>" for k in [*keys, "repeats", f"{board.monitor} mean", "std", "jobs"])
    body = []
    for config in configs:
        cells = [escape(v) for v in config.params.values()]
        mean = f"{config.mean:.4g}" if config.values else ""
        std = f"{config.std:.4g}" if math.isfinite(config.std) else ""
        jobs = ", ".join(job.name for job in config.jobs)
        cells_html = "".join(f"<td>{c}</td>" for c in cells)
        body.append(f"<tr>{cells_html}<td class='num'>{len(config.values)}</td><td class='num'>{mean}</td>"
                    f"<td class='num'>{std}</td><td>{escape(jobs)}</td></tr>")  # fmt: skip
    repeats = ", ".join(f"<code>{k}</code>" for k in REPEAT_KEYS)
    return (
        f'<h2 id="configs">Per configuration: mean +- std over repeats</h2><p class="note">Jobs that differ only in '
        f"{repeats} are one configuration; a cross-validated job's folds are its repeats. A gap between two "
        f'configurations smaller than their std is noise.</p><table id="config-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def table_html(board: Leaderboard) -> str:
    header, rows = readable_table(board)
    numbers = {board.monitor, f"{board.monitor} std", "best_epoch", "wall_time_s"}
    numeric = {i for i, name in enumerate(header) if name in numbers or name.startswith("test/")}
    head = "".join(f"<th>{escape(name)}</th>" for name in header)
    body = []
    for job, row in zip(board.jobs, rows, strict=True):
        css = "best" if job is board.best else job.status
        cells = "".join(
            f"<td class='num'>{escape(cell)}</td>" if i in numeric else f"<td>{escape(cell)}</td>"
            for i, cell in enumerate(row)
        )
        body.append(f'<tr class="{escape(css)}" id="job-{escape(job.name)}">{cells}</tr>')
    return f'<table id="leaderboard"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
