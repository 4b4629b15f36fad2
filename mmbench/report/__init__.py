"""The HTML report of a suite's stored results (``mmbench report``): tables, figures
(matplotlib, inline SVG), provenance — one self-contained file."""

from __future__ import annotations

from .data import ReportData, load_report_data
from .html import SECTIONS, render_report, write_report

__all__ = ["SECTIONS", "ReportData", "load_report_data", "render_report", "write_report"]
