"""The report in headless Chromium: loads without console errors, its table sorts, and the
heatmap is drawn (decoded image, and viridis pixels in a screenshot). Skips without Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from report_kit import build_results

from mmbench.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
    "google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed")

# Appended to a copy of the report: clicks a header, then writes what it saw into the DOM.
PROBE = """<script>
window.addEventListener("load", function () {
  var th = document.querySelectorAll("#leaderboard-table th")[6];  th.click();  th.click();
  var col = Array.from(document.querySelectorAll("#leaderboard-table tbody tr"), function (r) {
    return parseFloat(r.cells[6].dataset.v); });
  var img = document.querySelector("img[alt^='heatmap']");
  document.body.setAttribute("data-probe", JSON.stringify({sorted: col,
    heatmap: [img.naturalWidth, img.naturalHeight]}));
});
</script></body>"""


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--hide-scrollbars", *args],
        capture_output=True, text=True, timeout=60)


def test_report_in_headless_chromium(tmp_path):
    import json

    from PIL import Image

    report = write_report(build_results(tmp_path / "res"), tmp_path / "report.html")
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", PROBE))
    run = chromium(tmp_path, "--dump-dom", probed.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert not re.findall(r"CONSOLE.*", run.stderr), "console messages on the page"
    probe = json.loads(re.search(r'data-probe="([^"]*)"', run.stdout).group(1)
                       .replace("&quot;", '"'))
    assert probe["heatmap"][0] > 100 and probe["heatmap"][1] > 50
    col = probe["sorted"]  # column 6 is accuracy; two clicks: ascending
    assert col == sorted(col) and len(col) == 8

    shot = tmp_path / "shot.png"
    run = chromium(tmp_path, "--window-size=1400,1300", f"--screenshot={shot}", report.as_uri())
    assert shot.exists(), run.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=float).reshape(-1, 3)
    from matplotlib import colormaps

    lut = colormaps["viridis"](np.linspace(0, 1, 64))[:, :3] * 255
    saturated = pixels[np.ptp(pixels, axis=1) > 60]
    near = np.min(((saturated[:, None, :] - lut[None]) ** 2).sum(-1), axis=1) < 15**2
    assert near.sum() > 5000, f"only {near.sum()} heatmap-coloured pixels in the screenshot"
