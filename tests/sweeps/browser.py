"""Open a page in headless Chromium (Debian's `chromium`; .ci/run installs it) and report what a reader would meet:
images that did not load, console messages, script errors, and a screenshot. No selenium or playwright here: a
test copy of the page gets a small script first in <head> that records errors (console.error/warn, uncaught
errors, resources that failed: the capture-phase `error` event) and, on load, every <img>'s completeness into the
DOM, which `--dump-dom` prints; Chromium's own `--enable-logging=stderr` lines catch any console message besides."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
         "--allow-file-access-from-files"]  # fmt: skip
PROBE = """<script>
window.__errors = [];
for (const level of ["error", "warn"]) {
  const original = console[level];
  console[level] = (...args) => { window.__errors.push(level + ": " + args.join(" ")); original(...args); };
}
window.addEventListener("error", (event) => {
  const target = event.target && event.target.tagName ? event.target.tagName + " " + (event.target.src || "") : "";
  window.__errors.push("error: " + (event.message || "failed to load " + target.slice(0, 80)));
}, true);
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const probe = document.createElement("pre");
  probe.id = "browser-probe";
  probe.textContent = JSON.stringify({
    total: images.length,
    loaded: images.filter((image) => image.complete && image.naturalWidth > 0).length,
    sizes: images.map((image) => [image.naturalWidth, image.naturalHeight]),
    errors: window.__errors,
  });
  document.body.appendChild(probe);
});
</script>"""


@dataclass(frozen=True)
class Rendered:
    images: int
    loaded: int
    sizes: list[list[int]]
    errors: list[str]  # recorded by the probe
    console: list[str]  # Chromium's CONSOLE log lines
    screenshot: Path


def render(page: Path, work_dir: Path, window: str = "1400,3000") -> Rendered:
    """Load a copy of `page` (beside it, so relative paths resolve alike) with the probe; screenshot the original."""
    assert CHROMIUM, "chromium is not installed: apt-get install -y chromium (.ci/run does)"
    probed = page.with_name(f".probe-{page.name}")
    probed.write_text(re.sub(r"<head>", "<head>" + PROBE, page.read_text(), count=1))
    try:
        dumped = _chromium("--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom",
                           probed.as_uri())  # fmt: skip
    finally:
        probed.unlink()
    found = re.search(r'<pre id="browser-probe">(.*?)</pre>', dumped.stdout, re.S)
    assert found, f"the page never finished loading: {dumped.stderr[-2000:]}"
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
                       .replace("&amp;", "&"))  # fmt: skip
    console = [line for line in dumped.stderr.splitlines() if ":CONSOLE" in line]
    screenshot = work_dir / f"{page.stem}.png"
    _chromium(f"--screenshot={screenshot}", f"--window-size={window}", page.as_uri())
    return Rendered(probe["total"], probe["loaded"], probe["sizes"], probe["errors"], console, screenshot)


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=120, check=True)
