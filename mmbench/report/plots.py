"""The report's figures, drawn with matplotlib (Agg backend, imported lazily) as SVG text."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

WIDTH = 7.5


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "mmbench",
                         "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False,
                         # labels are plain text: a class named "$x^$" is not math to parse
                         "text.parse_math": False})
    return plt


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    with warnings.catch_warnings():
        # Text is left to the browser (svg.fonttype none), which has fonts for what matplotlib's
        # own lacks (CJK or emoji class names): its "Glyph missing" warnings do not apply here.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from",
                                category=UserWarning)
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def short(label: str, n: int = 42) -> str:
    """A label cut to ``n`` characters (with an ellipsis)."""
    return label if len(label) <= n else label[: n - 1] + "…"


def heatmap(values: np.ndarray, rows: Sequence[str], cols: Sequence[str], title: str,
            cbar: str, fmt: str = "{:.3f}", vmin: float | None = None,
            vmax: float | None = None, cmap: str = "viridis") -> str:
    """An annotated heatmap (NaN cells left blank) as SVG."""
    plt = _plt()
    values = np.asarray(values, dtype=float)
    h = max(1.6, 0.32 * len(rows) + 1.2)
    w = min(WIDTH + 2, max(3.5, 0.75 * len(cols) + 3.0))
    fig, ax = plt.subplots(layout="constrained", figsize=(w, h))
    img = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto", vmin=vmin,
                    vmax=vmax)
    ax.set_xticks(range(len(cols)), [short(c, 44) for c in cols], rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [short(r) for r in rows])
    ax.set_title(title, loc="left", fontsize=9)
    fig.colorbar(img, ax=ax, label=cbar, fraction=0.04, pad=0.02)
    if values.size and values.size <= 400:
        lo, hi = img.get_clim()
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                dark = (v - lo) / ((hi - lo) or 1) < 0.55
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    ax.spines[:].set_visible(False)
    return _svg(fig)


def gain_plot(labels: Sequence[str], gain: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              significant: Sequence[bool | None], metric: str, interval: str) -> str:
    """Fusion gain over the best unimodal cell, one row per fusion configuration, with its
    interval; filled markers for significant gains (when known)."""
    plt = _plt()
    n = len(labels)
    fig, ax = plt.subplots(layout="constrained", figsize=(WIDTH, max(1.5, 0.28 * n + 0.9)))
    y = np.arange(n)[::-1]
    gain = np.asarray(gain, dtype=float)
    colors = np.where(gain >= 0, "#2a7d4f", "#b2382c")
    err = np.vstack([gain - np.asarray(lo, float), np.asarray(hi, float) - gain]).clip(0)
    for i in range(n):
        sig = significant[i]
        ax.errorbar(gain[i], y[i], xerr=err[:, i : i + 1], fmt="o", color=colors[i],
                    mfc=colors[i] if sig in (True, None) else "white", capsize=2, ms=5)
    ax.axvline(0, color="0.4", lw=0.8, ls="--")
    ax.set_yticks(y, [short(lbl, 70) for lbl in labels])
    ax.set_xlabel(f"gain in {metric} over the best unimodal cell ({interval})")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def curves_plot(series: Sequence[dict[str, Any]], xlabel: str, ylabel: str, title: str,
                refs: Sequence[tuple[str, float]] = ()) -> str:
    """Lines with ±sd bands: each series is ``{"label", "x", "y", "sd"?}``; ``refs`` are
    dashed horizontal reference lines (label, value)."""
    plt = _plt()
    fig, ax = plt.subplots(layout="constrained", figsize=(WIDTH * 0.8, 3.2))
    for s in series:
        x, yv = np.asarray(s["x"], float), np.asarray(s["y"], float)
        (line,) = ax.plot(x, yv, marker="o", ms=4, label=short(s["label"], 60))
        if s.get("sd") is not None and np.any(np.asarray(s["sd"]) > 0):
            sd = np.asarray(s["sd"], float)
            ax.fill_between(x, yv - sd, yv + sd, color=line.get_color(), alpha=0.15, lw=0)
    for i, (label, value) in enumerate(refs):
        ax.axhline(value, ls="--", lw=1, color=f"C{(i + len(series)) % 10}",
                   label=short(label, 60))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left", fontsize=9)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # nothing drawn: no empty legend (and its warning)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _svg(fig)


def confusion_plot(counts: np.ndarray, class_names: Sequence[str], title: str) -> str:
    """Row-normalised confusion matrix (true class per row), annotated with counts."""
    plt = _plt()
    counts = np.asarray(counts, dtype=float)
    k = len(counts)
    norm = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = min(6.5, max(2.8, 0.42 * k + 1.6))
    fig, ax = plt.subplots(layout="constrained", figsize=(size + 0.8, size))
    img = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    names = [short(c, 14) for c in (class_names or [str(i) for i in range(k)])][:k]
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, loc="left", fontsize=8)
    if k <= 15:
        for (i, j), v in np.ndenumerate(counts):
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=6.5,
                    color="white" if norm[i, j] > 0.55 else "black")
    fig.colorbar(img, ax=ax, label="fraction of the true class", fraction=0.046, pad=0.03)
    ax.spines[:].set_visible(False)
    return _svg(fig)


def reliability_grid(panels: Sequence[dict[str, Any]], cols: int = 4) -> str:
    """Reliability diagrams, one small panel per leaderboard row: accuracy per confidence bin
    (bars), each bin's mean confidence (a red tick, joined to its bar: the gap), the diagonal
    of perfect calibration,
    each panel titled with its row and pooled ECE. ``panels``: ``{"title", "bins": {count,
    confidence, accuracy, bins}, "ece"}``."""
    plt = _plt()
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, 1.9 * rows + 0.3), squeeze=False,
                             sharex=True, sharey=True, layout="constrained")
    for ax, panel in zip(axes.flat, panels):
        rel = panel["bins"]
        width = 1.0 / rel["bins"]
        edges = np.arange(rel["bins"]) * width
        acc = np.array([a if a is not None else np.nan for a in rel["accuracy"]])
        conf = np.array([c if c is not None else np.nan for c in rel["confidence"]])
        ax.bar(edges, np.nan_to_num(acc), width=width, align="edge", color="#4c72b0",
               edgecolor="white", lw=0.4, label="accuracy")
        ax.vlines(edges + width / 2, np.nan_to_num(acc), np.nan_to_num(conf), color="#c44e52",
                  lw=1.0)
        ax.scatter(edges + width / 2, conf, marker="_", s=40, color="#c44e52", lw=1.2,
                   label="mean confidence")
        ax.plot([0, 1], [0, 1], ls="--", lw=0.8, color="0.3")
        ax.set_title(f"{short(panel['title'], 34)}\nECE {panel['ece']:.3f}", fontsize=6.5,
                     loc="left")
        ax.tick_params(labelsize=6)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("confidence", fontsize=6.5)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy", fontsize=6.5)
    return _svg(fig)
