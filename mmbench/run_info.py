"""What a run records about itself: the device it resolved and its manifest (the suite's
text, plugin versions, git sha, machine, device and the cells it planned)."""

from __future__ import annotations

from typing import Any

from .plan import Plan
from .results import now


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``."""
    if device != "auto":
        return device
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def run_manifest(plan: Plan, catalog: Any, git_sha: str, host: dict[str, Any],
                 device: str) -> dict[str, Any]:
    """The run's provenance, written to ``manifest.json`` before its first record."""
    return {
        "suite": plan.suite.name,
        "suite_path": str(plan.loaded.path),
        "suite_sha256": plan.loaded.sha256,
        "suite_text": plan.loaded.text,
        "plugins": catalog.plugin_versions(),
        "git_sha": git_sha,
        "machine": host,
        "device": device,
        "cells_planned": len(plan.cells),
        "cells": [c.cell_id for c in plan.cells],  # what readers show (mmbench.stored)
        "time": now(),
    }
