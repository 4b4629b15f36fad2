"""The report in headless Chromium: loads without console errors, its table sorts, the
heatmap is drawn (decoded image, and viridis pixels in a screenshot), and the leaderboard fits
a 1,400 px page with long labels wrapped and shown whole on hover. Skips without Chromium,
except in CI (``CI`` set), where a missing Chromium is a failure: ``.ci/run`` installs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from report_kit import _variant, build_results, write_cell

from mmbench.report import write_report
from mmbench.results import ResultStore

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
    "google-chrome")


@pytest.fixture(autouse=True)
def chromium_present():
    """Skip without Chromium on a workstation; in CI the browser tests must run."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but Chromium is not installed: .ci/run installs it with "
                        "apt-get install -y chromium; install it, or unset CI to skip")
        pytest.skip("Chromium not installed")

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


# Measures, at 1,400 px, whether the leaderboard fits and what its label cells show.
FIT_PROBE = """<script>
window.addEventListener("load", function () {
  var box = document.querySelector("#leaderboard .scroll");
  var labels = Array.from(document.querySelectorAll("#leaderboard-table td.label"), function (td) {
    return {text: td.textContent, title: td.title, cut: td.scrollWidth > td.clientWidth + 1,
            lines: Math.round(td.getBoundingClientRect().height / 14)}; });
  document.body.setAttribute("data-probe", JSON.stringify({page: window.innerWidth,
    doc: document.documentElement.scrollWidth, box: [box.scrollWidth, box.clientWidth],
    right: document.querySelector("#leaderboard-table").getBoundingClientRect().right,
    labels: labels}));
});
</script></body>"""

LONG = {"dim": 64, "hidden": 512, "align": 0.25, "epochs": 200, "lr": 0.003,
        "weight_decay": 0.0001, "batch_size": 128}


def test_leaderboard_fits_1400px_and_long_labels_wrap_with_the_full_label_on_hover(tmp_path):
    root = build_results(tmp_path / "res")
    store = ResultStore(root)
    for seed in range(3):  # a fusion whose label is long (seven parameters)
        write_cell(store, f"je{seed}", _variant("joint-embedding", LONG), "structure",
                   ["image", "text"], seed, 0.8)
    report = write_report(root, tmp_path / "report.html")
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", FIT_PROBE))
    run = chromium(tmp_path, "--window-size=1400,1000", "--dump-dom", probed.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    probe = json.loads(re.search(r'data-probe="([^"]*)"', run.stdout).group(1)
                       .replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["page"] == 1400
    assert probe["doc"] <= probe["page"], "the page scrolls sideways"
    assert probe["box"][0] <= probe["box"][1], f"the leaderboard scrolls sideways: {probe['box']}"
    assert probe["right"] <= probe["page"]
    long = [c for c in probe["labels"] if c["text"].startswith("joint-embedding(")]
    assert long and all(c["lines"] >= 2 for c in long), long  # wrapped, not cut off
    assert all(c["title"] == c["text"] and not c["cut"] for c in probe["labels"])
