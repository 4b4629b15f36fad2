"""Peak memory of a step: exact from the kernel on Linux, sampled elsewhere."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mmbench import cost
from mmbench.cost import PeakRSS


def spike(mb: int, hold: float = 0.0) -> None:
    x = np.ones(mb * 1024 * 1024 // 8)  # touched: resident
    time.sleep(hold)
    del x


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_kernel_peak_sees_even_a_spike_that_sampling_misses() -> None:
    with PeakRSS(interval=10.0) as peak:  # a sampler this slow would see nothing
        spike(150)
    assert peak._kernel
    assert 140 <= peak.delta_mb <= 175, peak.delta_mb
    with PeakRSS() as small:  # over glibc's largest mmap threshold (32 MB): fresh pages
        spike(60)
    assert 55 <= small.delta_mb <= 80, small.delta_mb  # the earlier peak was reset


def test_sampling_fallback_sees_a_held_allocation(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setattr(cost, "CLEAR_REFS", tmp_path / "missing" / "clear_refs")
    with PeakRSS(interval=0.002) as peak:
        spike(100, hold=0.2)
    assert not peak._kernel
    assert 90 <= peak.delta_mb <= 125, peak.delta_mb
