"""Assemble the self-contained HTML report: sections of tables and inline SVG figures."""

from __future__ import annotations

import base64
import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..cache import atomic_write_bytes
from ..leaderboard import _feats
from ..metrics import SCALAR_METRICS
from ..results import now
from ..scoring import ece_from_bins, merge_bins
from . import plots
from .data import (ReportData, alpha_sweeps, best_rows, confusion, gain_table,
                   load_report_data, per_class_recall, robustness_curves)
from .fmt import ci_text, gain_text, has_stats, metric_text, significant

#: Section ids, in page order; every one is always present (saying when it has no content).
SECTIONS = ("leaderboard", "heatmap", "gain", "alpha-sweep", "robustness", "calibration",
            "per-class", "confusion", "audit", "complementarity", "cost", "provenance")


def _img(svg: str, alt: str) -> dict[str, str]:
    return {"src": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
            "alt": alt}


def _row_name(row: pd.Series, data: ReportData | None = None) -> str:
    """``concat · logreg(C=1.0)``, ``image only · logreg(C=1.0)``; featurizers are added when
    the run compared several (pass ``data``)."""
    feats = _feats(row["featurizers"])
    fusion = row["fusion"] if row["level"] != "unimodal" else " + ".join(feats) + " only"
    name = f"{fusion} · {row['classifier']}"
    if data is None or data.summary["featurizers"].nunique() > 3:
        name += " · " + " + ".join(feats.values())
    return name


def provenance(data: ReportData) -> dict[str, Any]:
    m = data.manifest
    try:
        suite = tomllib.loads(m.get("suite_text", ""))
    except tomllib.TOMLDecodeError:
        suite = {}
    machine = m.get("machine") or {}
    return {
        "suite": m.get("suite") or data.results_dir.name,
        "description": suite.get("description", ""),
        "facts": [(k, v) for k, v in [
            ("suite file", m.get("suite_path", "")), ("suite sha256", m.get("suite_sha256", "")),
            ("git sha", m.get("git_sha") or "not in a git checkout"),
            ("run started", m.get("time", "")), ("device", m.get("device", "")),
            ("machine", ", ".join(f"{k}={v}" for k, v in machine.items())),
            ("cells", f"{len(data.records)} ok, {len(data.failed)} failed, "
                      f"{m.get('cells_planned', '?')} planned"
                      + "".join(f"; {n}" for n in (data.stored.notes() if data.stored else []))),
            ("headline metric", data.metric)] if v],
        "plugins": record_plugins(data) or sorted((m.get("plugins") or {}).items()),
        "suite_text": m.get("suite_text", ""),
    }


def record_plugins(data: ReportData) -> list[tuple[str, str]]:
    """(plugin, "distribution version") of the cells shown, as their records name them (a
    plugin whose cells were computed with several versions lists each, with its cell count)."""
    seen: dict[str, dict[str, int]] = {}
    for record in data.records.values():
        for part in (record["dataset"], *record["featurizers"].values(), record["fusion"],
                     record["classifier"]):
            if part.get("plugin"):
                versions = seen.setdefault(part["plugin"], {})
                version = str(part.get("version") or "unknown version")
                versions[version] = versions.get(version, 0) + 1
    return [(name, ", ".join(v if len(vs) == 1 else f"{v}: {n} uses" for v, n in vs.items()))
            for name, vs in sorted(seen.items())]


def leaderboard_table(data: ReportData) -> dict[str, Any]:
    s = data.summary
    modalities = sorted({m for f in s["featurizers"] for m in _feats(f)})
    multi = s["dataset"].nunique() > 1
    stats = has_stats(s)
    head = ["#"] + (["dataset"] if multi else []) + modalities + ["fusion", "level", "classifier"]
    head += [m.replace("_", " ") for m in SCALAR_METRICS]
    if f"{data.metric}_ci_low" in s.columns:
        head.append(f"{data.metric.replace('_', ' ')} 95% CI")
    head += [f"gain ({data.metric.replace('_', ' ')})"] + (["p (Holm)"] if stats else [])
    head += ["n", "fit s"]
    scores = [k for k in ("log_loss", "ece") if k in s.columns and s[k].notna().any()]
    head += [{"log_loss": "log loss", "ece": "ECE"}[k] for k in scores]
    rows = []
    for i, row in s.iterrows():
        feats = _feats(row["featurizers"])
        cells: list[tuple[str, Any]] = [(str(i + 1), i + 1)]
        cells += [(row["dataset"], row["dataset"])] if multi else []
        cells += [(feats.get(m, ""), feats.get(m, "")) for m in modalities]
        cells += [(row["fusion"], row["fusion"]), (row["level"], row["level"]),
                  (row["classifier"], row["classifier"])]
        cells += [(metric_text(row, m), row[m]) for m in SCALAR_METRICS]
        if f"{data.metric}_ci_low" in s.columns:
            cells.append((ci_text(row, data.metric), row.get(f"{data.metric}_ci_low")))
        gain = row.get("gain")
        cells.append((gain_text(row), gain if pd.notna(gain) else -1e9))
        if stats:
            p = row.get("p_holm", row.get("p_value"))
            cells.append((f"{p:.3g}" if pd.notna(p) else "", p if pd.notna(p) else 2))
        cells += [(str(int(row["n"])), int(row["n"])),
                  (f"{row.get('fit_s', float('nan')):.2f}", row.get("fit_s"))]
        cells += [(f"{row[k]:.4f}" if pd.notna(row[k]) else "", row[k]) for k in scores]
        cls = row["level"] + (" sig" if significant(row) else "")
        gain_at = len(cells) - (4 if stats else 3) - len(scores)
        fusion_at = 1 + multi + len(modalities)  # dataset, featurizers, fusion, level, classifier
        labels = {*range(1, fusion_at + 1), fusion_at + 2}
        rows.append({"cls": cls, "cells": [
            (t, _sortkey(v), "num gain" if j == gain_at else "num" if _isnum(v)
             else "label" if j in labels else "")
            for j, (t, v) in enumerate(cells)]})
    return {"head": head, "rows": rows, "stats": stats}


def _isnum(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _sortkey(value: Any) -> str:
    if _isnum(value):
        return "" if pd.isna(value) else repr(float(value))
    return "" if value is None else str(value)


def heatmaps(data: ReportData) -> list[dict[str, str]]:
    """Headline metric, fusion × classifier, one map per dataset and featurizer pair
    (unimodal rows of the pair's featurizers included as "<modality> only")."""
    s, out = data.summary, []
    vmin, vmax = float(s[data.metric].min()), float(s[data.metric].max())
    for dataset in s["dataset"].unique():
        d = s[s["dataset"] == dataset]
        for pair in d.loc[d["level"] != "unimodal", "featurizers"].unique():
            feats = _feats(pair)
            uni = d[(d["level"] == "unimodal") & d["featurizers"].map(
                lambda f: set(_feats(f).items()) <= set(feats.items()))]
            uni = uni.assign(fusion=uni["featurizers"].map(
                lambda f: " + ".join(_feats(f)) + " only"))
            rows = pd.concat([uni, d[d["featurizers"] == pair].sort_values("fusion")])
            grid = rows.pivot_table(index="fusion", columns="classifier", values=data.metric,
                                    aggfunc="mean", sort=False)
            title = f"{dataset}: {' + '.join(f'{m}={v}' for m, v in feats.items())}"
            svg = plots.heatmap(grid.to_numpy(), list(grid.index), list(grid.columns),
                                "", data.metric, vmin=vmin, vmax=vmax)
            out.append({"title": title, **_img(svg, f"heatmap of {data.metric}: {title}")})
    return out


def gain_section(data: ReportData) -> dict[str, Any] | None:
    g = gain_table(data)
    if g.empty:
        return None
    svg = plots.gain_plot([_row_name(r, data) for _, r in g.iterrows()], g["gain"].to_numpy(),
                          g["lo"].to_numpy(), g["hi"].to_numpy(),
                          [significant(r) for _, r in g.iterrows()], data.metric,
                          g["interval"].iloc[0])
    return {"interval": g["interval"].iloc[0], "stats": has_stats(data.summary),
            **_img(svg, "fusion gain over the best unimodal cell")}


def alpha_section(data: ReportData) -> list[dict[str, str]]:
    curves, out = alpha_sweeps(data), []
    s = data.summary
    for key in dict.fromkeys((c["dataset"], c["featurizers"]) for c in curves):
        group = [c for c in curves if (c["dataset"], c["featurizers"]) == key]
        uni = s[(s["dataset"] == key[0]) & (s["level"] == "unimodal")]
        feats = set(_feats(key[1]).items())
        refs = [(f"best {' + '.join(_feats(f))} only", float(u[data.metric].max()))
                for f, u in uni.groupby("featurizers") if set(_feats(f).items()) <= feats]
        series = [{"label": c["label"], "x": [p[0] for p in c["points"]],
                   "y": [p[1] for p in c["points"]], "sd": [p[2] for p in c["points"]]}
                  for c in group]
        title = f"{key[0]}: {key[1]}"
        svg = plots.curves_plot(series, "alpha", data.metric, "", refs)
        out.append({"title": title, **_img(svg, f"alpha sweep: {title}")})
    return out


def robustness_section(data: ReportData, top: int = 8) -> dict[str, Any] | None:
    entries = robustness_curves(data)
    if not entries:
        return None
    figs = []
    for dataset in dict.fromkeys(e["dataset"] for e in entries):
        ents = sorted((e for e in entries if e["dataset"] == dataset),
                      key=lambda e: -e["metric"])[:top]
        for corr in dict.fromkeys(c for e in ents for c in e["curves"]):
            series = [{"label": _row_name(pd.Series(e), data), "x": [p[0] for p in e["curves"][corr]],
                       "y": [p[1] for p in e["curves"][corr]]} for e in ents
                      if corr in e["curves"]]
            title = f"{dataset}: {corr}"
            figs.append({"title": title, **_img(plots.curves_plot(
                series, f"{corr} level", "score", corr), f"robustness: {title}")})
    corrs = list(dict.fromkeys(c for e in entries for c in e["auc"]))
    auc = [{"name": _row_name(pd.Series(e), data),
            "values": [f"{e['auc'][c]:.4f}" if c in e["auc"] else "" for c in corrs]}
           for e in entries] if corrs else []
    return {"figures": figs, "auc_head": corrs, "auc_rows": auc}


def per_class_section(data: ReportData, top: int = 6) -> list[dict[str, str]]:
    out = []
    for dataset in data.summary["dataset"].unique():
        d = data.summary[data.summary["dataset"] == dataset]
        uni = d[d["level"] == "unimodal"].groupby("featurizers", sort=False).head(1)
        rows = pd.concat([d.head(top), uni]).drop_duplicates(subset=["featurizers", "fusion",
                                                                     "classifier"])
        mat = [per_class_recall(data, r) for _, r in rows.iterrows()]
        names = data.class_names(dataset)
        if not mat or not len(mat[0]):
            continue
        svg = plots.heatmap(np.vstack(mat), [_row_name(r, data) for _, r in rows.iterrows()],
                            names or [str(i) for i in range(len(mat[0]))],
                            "",
                            "recall", fmt="{:.2f}", vmin=0.0, vmax=1.0, cmap="magma")
        title = f"{dataset}: the best rows and the best unimodal row of each featurizer"
        out.append({"title": title, **_img(svg, f"per-class recall: {dataset}")})
    return out


def confusion_section(data: ReportData, top: int = 3) -> list[dict[str, str]]:
    out = []
    for dataset in data.summary["dataset"].unique():
        for rank, (_, row) in enumerate(best_rows(data, dataset, top).iterrows(), 1):
            counts = confusion(data, row)
            if not counts.size:
                continue
            name = _row_name(row, data)
            title = f"#{rank} {name} — {dataset}, {int(row['n'])} cell(s) summed"
            svg = plots.confusion_plot(counts, data.class_names(dataset),
                                       plots.short(f"#{rank} {name}", 60))
            out.append({"title": title, **_img(svg, f"confusion matrix: {title}")})
    return out


def calibration_section(data: ReportData, per_figure: int = 16) -> list[dict[str, str]]:
    """Reliability diagrams of every row (its cells' confidence bins pooled), best first."""
    out = []
    for dataset in data.summary["dataset"].unique():
        panels = []
        for _, row in data.summary[data.summary["dataset"] == dataset].iterrows():
            bins = merge_bins([data.records[c]["metrics"].get("reliability")
                               for c in data.cell_ids(row)])
            if bins is not None:
                panels.append({"title": _row_name(row, data), "bins": bins,
                               "ece": ece_from_bins(bins)})
        for start in range(0, len(panels), per_figure):
            chunk = panels[start:start + per_figure]
            title = f"{dataset}: rows {start + 1}-{start + len(chunk)}"
            out.append({"title": title, **_img(plots.reliability_grid(chunk),
                                               f"reliability diagrams: {title}")})
    return out


def audit_section(data: ReportData) -> list[tuple[str, str]] | None:
    if data.audit is None:
        return None
    items = data.audit.items() if isinstance(data.audit, dict) else [("audit", data.audit)]
    return [(str(k), v if isinstance(v, str) else json.dumps(v, indent=1, default=str))
            for k, v in items]


def complementarity_section(data: ReportData) -> dict[str, Any] | None:
    """The redundancy/complementarity diagnostic (:mod:`mmbench.complementarity`) from the
    stored predictions: one entry per dataset and featurizer pair."""
    from .. import complementarity as comp

    if data.stored is None:
        return None
    entries = comp.headline(comp.compute(data.stored))
    if not entries:
        return None
    for e in entries:
        e["title"] = f"{e['dataset']}: " + " + ".join(
            f"{m}:{f}" for m, f in e["featurizers"].items()) + f" ({e['classifier']})"
    return {"entries": entries,
            "thresholds": (comp.COMPLEMENTARY_SHARE, comp.REDUNDANT_RATIO)}


def cost_section(data: ReportData) -> dict[str, Any]:
    """The last run's breakdown (manifest ``cost``), else the cell phases of the records."""
    from .. import breakdown

    cost = data.manifest.get("cost") or breakdown.cells_cost(data.records.values())
    return {"rows": breakdown.rows(cost), "note": breakdown.note(cost)}


def render_report(data: ReportData) -> str:
    """The report's HTML text (self-contained: inline CSS, JS and SVG figures)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("mmbench.report", "."),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("template.html.j2").render(
        prov=provenance(data), board=leaderboard_table(data), heatmaps=heatmaps(data),
        gain=gain_section(data), alpha=alpha_section(data), robust=robustness_section(data),
        calibration=calibration_section(data),
        per_class=per_class_section(data), confusions=confusion_section(data),
        audit=audit_section(data), complementarity=complementarity_section(data),
        cost=cost_section(data), failed=data.failed, metric=data.metric,
        version=__version__, generated=now(), sections=SECTIONS)


def write_report(results_dir: Path | str, out: Path | str | None = None,
                 metric: str | None = None, include_all: bool = False) -> Path:
    """Render ``results_dir``'s report to ``out`` (default ``<results_dir>/report.html``) from
    its current cells (all with ``include_all``)."""
    from ..writable import output_file

    if out:  # checked before the work
        out = output_file(out, "report")
    data = load_report_data(results_dir, metric, include_all)
    path = Path(out) if out else data.results_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, render_report(data).encode("utf-8"))  # never half a report
    return path
