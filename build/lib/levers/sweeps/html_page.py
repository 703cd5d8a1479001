"""One self-contained HTML page: the charts inline as SVG, the leaderboard as a table; no script, no CDN, no files."""

from __future__ import annotations

from html import escape

from levers.sweeps.charts import Chart
from levers.sweeps.jobs import is_failure
from levers.sweeps.leaderboard import Leaderboard

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; white-space: nowrap; }
tr.failed td { color: #b00020; } tr.pruned td { color: #777; } tr.best td { font-weight: bold; }
figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; }
code { background: #f4f4f4; padding: 2px 4px; }
"""


def render_page(board: Leaderboard, charts: list[Chart], sweep_dir: str) -> str:
    best = board.best
    best_html = (
        f"<p>Best: job <b>{escape(best.name)}</b>, {escape(board.monitor)} = {best.value:.6g} ({board.mode}); "
        f"directory <code>{escape(str(best.path))}</code><br>command: <code>{escape(best.command)}</code></p>"
        if best
        else "<p>No job completed.</p>"
    )
    failed = sum(is_failure(job.status) for job in board.jobs)
    figures = "\n".join(
        f'<figure id="chart-{chart.name}"><figcaption>{escape(chart.title)}</figcaption>{chart.svg}</figure>'
        for chart in charts
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>levers sweep report</title><style>{STYLE}</style></head>
<body>
<h1>Sweep report</h1>
<p><code>{escape(sweep_dir)}</code>: {len(board.jobs)} jobs, {failed} failed; ranked by {escape(board.monitor)}
({board.mode}).</p>
{best_html}
{figures}
<h2>Leaderboard</h2>
{_table(board)}
</body></html>
"""


def _table(board: Leaderboard) -> str:
    head = "".join(f"<th>{escape(name)}</th>" for name in board.header())
    body = []
    for job, row in zip(board.jobs, board.rows(), strict=True):
        css = "best" if job is board.best else job.status
        cells = "".join(f"<td>{escape(cell)}</td>" for cell in row)
        body.append(f'<tr class="{escape(css)}" id="job-{escape(job.name)}">{cells}</tr>')
    return f'<table id="leaderboard"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
