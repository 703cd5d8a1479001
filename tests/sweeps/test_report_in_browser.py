"""The report pages as a reader meets them: rendered by headless Chromium, every image loads, nothing on the
console, and the screenshot shows the page (not a blank one)."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from levers.sweeps.report import build_report, main
from tests.sweeps.browser import render
from tests.sweeps.synthetic import grid_over_seeds, optuna_like

pytestmark = pytest.mark.slow  # starts Chromium


def test_the_probe_catches_a_broken_image_and_a_console_error(tmp_path):
    """The check itself can fail: a page with an undecodable image, a missing file and console.error."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head></head><body><img src="data:image/png;base64,AAAA">'
                    '<img src="missing.png"><script>console.error("boom")</script></body></html>')  # fmt: skip
    rendered = render(page, tmp_path)
    assert (rendered.images, rendered.loaded) == (2, 0)
    assert any("boom" in error for error in rendered.errors) and any("boom" in line for line in rendered.console)
    assert sum("failed to load IMG" in error for error in rendered.errors) == 2


@pytest.mark.parametrize("jobs", [4, 200])
def test_the_report_of_a_sweep_renders_with_every_image_and_no_console_message(tmp_path, jobs):
    sweep = optuna_like(tmp_path / "sweep", jobs)
    report = build_report(sweep)
    rendered = render(sweep / "report.html", tmp_path)
    assert rendered.images == len(report.charts) and rendered.loaded == rendered.images
    assert all(width > 300 and height > 200 for width, height in rendered.sizes)
    assert rendered.errors == [] and rendered.console == []
    shot = matplotlib.image.imread(rendered.screenshot)
    assert shot.shape[:2] == (3000, 1400)
    assert np.mean(shot[..., :3] < 0.9) > 0.01  # ink on the page (charts are mostly white; a blank page has none)


def test_the_comparison_page_renders_with_every_image(tmp_path, capsys):
    grid, search = grid_over_seeds(tmp_path / "grid"), optuna_like(tmp_path / "optuna", 30)
    out = tmp_path / "comparison.html"
    assert main([str(grid), str(search), "--out", str(out)]) == 1  # the search has failed trials
    rendered = render(out, tmp_path)
    assert rendered.images == 3 and rendered.loaded == 3
    assert rendered.errors == [] and rendered.console == []
