"""The HTML report: every section, self-contained, figures that parse, and what each section
shows from stored results (a real smoke run, and records built by the test)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
from report_kit import build_results, smoke_run  # noqa: F401  (fixture)

import mmbench.report.data as report_data
from mmbench.cli import main
from mmbench.report import SECTIONS, write_report


class Page(HTMLParser):
    """Collects ids, images, scripts, links, table headers/rows and text of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids, self.imgs, self.urls, self.scripts = set(), [], [], []
        self.th, self.text, self.rows = [], [], 0
        self._in_th = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        self.urls += [v or "" for k, v in attrs if k in {"src", "href"}]
        if tag == "img":
            self.imgs.append(a)
        if tag == "script":
            self.scripts.append(a)
        if tag == "tr":
            self.rows += 1
        self._in_th = tag == "th"

    def handle_endtag(self, tag: str) -> None:
        self._in_th = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_th:
            self.th.append(data.strip())

    def alt(self, prefix: str) -> list[dict]:
        return [i for i in self.imgs if i.get("alt", "").startswith(prefix)]


def parse_report(path: Path) -> Page:
    page = Page(path.read_text(encoding="utf-8"))
    assert set(SECTIONS) <= page.ids, f"missing sections: {set(SECTIONS) - page.ids}"
    assert not [u for u in page.urls if u.startswith(("http:", "https:", "//"))]
    assert all("src" not in s for s in page.scripts), "scripts must be inline"
    for img in page.imgs:  # every figure is an inline SVG document that parses
        assert img["src"].startswith("data:image/svg+xml;base64,")
        root = ET.fromstring(base64.b64decode(img["src"].split(",", 1)[1]))
        assert root.tag.endswith("svg")
    return page


def test_run_report_of_smoke_run_and_report_command(smoke_run, tmp_path, capsys):  # noqa: F811
    suite, results = smoke_run
    assert main(["run", str(suite), "--report"]) == 0  # every cell recorded: only the report
    out = capsys.readouterr().out
    assert f"report: {results / 'report.html'}" in out and "results:" in out
    page = parse_report(results / "report.html")
    text = " ".join(page.text)
    n_configs = len(report_data.load_report_data(results).summary)
    assert page.rows >= n_configs + 1
    assert len(page.alt("heatmap")) == 1  # one featurizer pair
    assert len(page.alt("confusion matrix")) == 3
    assert page.alt("fusion gain") and page.alt("per-class recall")
    assert "Not computed for this run: no fusion swept over" in text
    assert "no cell recorded robustness curves" in text
    # the run computed significance and the leakage audit (issue 5): both are shown
    assert "marks a gain significant after Holm" in text
    assert "Significance not computed for this run" not in text
    assert "no <code>audit.json</code>" not in (results / "report.html").read_text()
    assert "smoke" in text and "classic-features" in text  # provenance from the manifest
    assert main(["report", str(tmp_path / "empty")]) == 2


def _with_stats(summarize):
    """The real summary with its statistics columns replaced by values set here, so the test
    knows which gain is significant."""
    def wrapped(df: pd.DataFrame, store, metric: str = "accuracy") -> pd.DataFrame:
        out = summarize(df, store, metric)
        half = 2 * out[f"{metric}_std"]
        out[f"{metric}_ci_low"], out[f"{metric}_ci_high"] = out[metric] - half, out[metric] + half
        out["gain_ci_low"], out["gain_ci_high"] = out["gain"] - 0.02, out["gain"] + 0.02
        out["significant"] = out["gain_ci_low"] > 0
        out["p_value"] = out["significant"].map({True: 0.001, False: 0.4})
        out["p_holm"] = out["p_value"] * 3
        return out
    return wrapped


def test_report_shows_sweeps_robustness_audit_and_stats(tmp_path, monkeypatch):
    results = build_results(tmp_path / "built")
    monkeypatch.setattr(report_data, "summarize_with_stats",
                        _with_stats(report_data.summarize_with_stats))
    page = parse_report(write_report(results))
    text = " ".join(page.text)
    assert (results / "report.html").exists()
    assert len(page.alt("alpha sweep")) == 1
    assert len(page.alt("robustness")) == 2  # one figure per corruption
    assert {"gaussian_noise", "drop_text", "p (Holm)", "accuracy 95% CI"} <= set(page.th)
    assert "0.6000" in text and "0.7500" in text  # AUCs
    assert "captions leak" in text and "0.97" in text
    assert "+0." in text and "*" in text  # a significant gain is marked
    assert "Significance not computed" not in text


def test_report_without_extras_says_so_and_takes_a_metric(tmp_path):
    results = build_results(tmp_path / "plain", with_extras=False)
    assert main(["report", str(results), "-o", str(tmp_path / "x.html"),
                 "--metric", "macro_f1"]) == 0
    page = parse_report(tmp_path / "x.html")
    text = " ".join(page.text)
    assert page.alt("alpha sweep") and not page.alt("robustness")
    assert "no cell recorded robustness curves" in text
    assert "gain (macro f1)" in page.th


def test_parse_robustness_reads_flat_and_nested_forms():
    curves, auc = report_data.parse_robustness(
        {"blur": {"0": 0.9, "2": "0.5", "auc": 0.7}, "noise_auc": 0.4, "junk": "x"})
    assert curves == {"blur": {0.0: 0.9, 2.0: 0.5}} and auc == {"blur": 0.7, "noise": 0.4}
    assert report_data.parse_robustness(None) == ({}, {})
