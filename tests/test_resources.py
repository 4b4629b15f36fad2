"""Resource limits: a featurization too big for memory is refused before it runs, with the
estimate and the knob; a full disk leaves no partial record and says which path."""

from __future__ import annotations

import errno
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmbench import cache as cache_mod
from mmbench import resources
from mmbench.cli import main
from mmbench.errors import UserError

SUITE = """
name = "res"
seeds = [0]
device = "cpu"
[[datasets]]
name = "synthetic"
params = {{ n = 60, n_classes = 3 }}
[[featurizers]]
{image}
[[featurizers]]
name = "tfidf"
params = {{ max_features = 32, min_df = 1 }}
[[classifiers]]
name = "logreg"
"""
PIXELS = 'name = "pixels"'
#: 60 synthetic 8x8 images: pixels makes 60 x 192 values, 13 bytes each at its peak
PIXELS_BYTES = 60 * 192 * 13


def write(tmp_path: Path, image: str = PIXELS) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(f'results_dir = "{tmp_path / "results"}"\ncache_dir = "{tmp_path / "cache"}"\n'
                    + textwrap.dedent(SUITE.format(image=image)))
    return path


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------- memory
@pytest.mark.parametrize(("text", "size"), [("1000", 1000), ("512K", 512 * 1024),
                                             ("1.5GiB", int(1.5 * 1024**3)), ("8g", 8 * 1024**3),
                                             (" 2 MB ", 2 * 1024**2)])
def test_parse_size(text: str, size: int) -> None:
    assert resources.parse_size(text) == size


def test_a_bad_limit_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMBENCH_MEMORY_LIMIT", "lots")
    with pytest.raises(UserError, match="MMBENCH_MEMORY_LIMIT='lots' is not a size"):
        resources.available_memory()


def test_available_memory_without_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import psutil

    monkeypatch.delenv("MMBENCH_MEMORY_LIMIT", raising=False)
    have, source = resources.available_memory()
    assert 0 < have <= psutil.virtual_memory().total
    assert source in ("free memory", "left under this container's memory limit")


def test_cgroup_limit(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "memory.current").write_text("1000\n")
    assert resources._cgroup_free(tmp_path) is None
    (tmp_path / "memory.max").write_text("5000\n")
    assert resources._cgroup_free(tmp_path) == 4000
    assert resources._cgroup_free(tmp_path / "absent") is None


def test_pixels_estimate_matches_what_transform_allocates() -> None:
    """The estimate of the built-in pixels featurizer, against its output's real size."""
    from mmbench_features.image import Pixels

    images = np.zeros((50, 32, 32, 3), np.uint8)
    for stride in (1, 3):
        feat = Pixels(stride=stride)
        out = feat.transform(images)
        assert feat.memory_estimate(images) == {"outputs": out.size * 13}


def test_too_little_memory_for_pixels_names_estimate_limit_and_knob(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = write(tmp_path)
    monkeypatch.setenv("MMBENCH_MEMORY_LIMIT", str(PIXELS_BYTES - 1))
    assert main(["run", str(suite)]) == 2
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    for part in ("featurizer pixels (plugin classic-features) on 60 image samples",
                 f"would need about {resources.format_size(PIXELS_BYTES)}",
                 f"is available (MMBENCH_MEMORY_LIMIT={PIXELS_BYTES - 1})",
                 "nothing was computed", "per_class or n param", "raise MMBENCH_MEMORY_LIMIT",
                 "1 cell(s) not recorded, 1 recorded this run"):
        assert part in line, (part, line)
    assert "Traceback" not in out + err
    # the text-only cell ran and is recorded; no feature of pixels was cached
    store = tmp_path / "results" / "res"
    assert len(files(store / "cells")) == 1
    cached = [p for p in (tmp_path / "cache").rglob("*.json")]
    assert cached and all('"pixels"' not in p.read_text() for p in cached)

    monkeypatch.setenv("MMBENCH_MEMORY_LIMIT", str(PIXELS_BYTES))  # just enough
    assert main(["run", str(suite)]) == 0
    assert "1 run, 0 failed" in capsys.readouterr().out


def test_a_too_large_batch_names_batch_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """efficientnet-lite0 on CPU: one batch's activations dominate; the message says to lower
    batch_size, and the estimate with a smaller batch fits. Nothing is loaded to find out."""
    from mmbench_torch.efficientnet import EfficientNetLite0

    image = 'name = "efficientnet-lite0"\nparams = { image_size = 64, batch_size = 512 }'
    suite = write(tmp_path, image)
    monkeypatch.setenv("MMBENCH_MEMORY_LIMIT", "16M")
    assert main(["run", str(suite)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "featurizer efficientnet-lite0(batch_size=512, image_size=64)" in line
    assert "activations of a 60-image batch at 64 px" in line  # the batch is capped at n
    assert "set a smaller batch_size in this featurizer's params in the suite (now 512)" in line
    images = np.zeros((60, 8, 8, 3), np.uint8)
    big = sum(EfficientNetLite0(image_size=64, batch_size=512).memory_estimate(images).values())
    small = sum(EfficientNetLite0(image_size=64, batch_size=8).memory_estimate(images).values())
    assert small < resources.parse_size("16M") < big
    on_gpu = EfficientNetLite0(image_size=64, batch_size=512, device="cuda")
    assert on_gpu.memory_estimate(images) == {"outputs": 2 * 60 * 1280 * 4}  # host side only


def test_featurizers_without_an_estimate_are_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    class Opaque:
        modality = "image"

    monkeypatch.setenv("MMBENCH_MEMORY_LIMIT", "1")
    assert resources.featurization_estimate(Opaque(), np.zeros((9, 2))) == {}
    resources.check_featurization_memory(Opaque(), np.zeros((9, 2)), "opaque", False)


# ----------------------------------------------------------------------------- disk full
def fail_writes_under(monkeypatch: pytest.MonkeyPatch, part: str) -> list[str]:
    """Make writes to files whose path contains ``part`` write half their bytes, then fail
    with ENOSPC, as a full disk does; returns the paths that failed."""
    real = os.fdopen
    failed: list[str] = []

    class Full:
        def __init__(self, fh: Any, path: str) -> None:
            self.fh, self.path = fh, path

        def write(self, data: bytes) -> int:
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            failed.append(self.path)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name: str) -> Any:
            return getattr(self.fh, name)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        fh = real(fd, *args, **kwargs)
        path = os.readlink(f"/proc/self/fd/{fd}")
        return Full(fh, path) if part in path else fh

    monkeypatch.setattr(cache_mod.os, "fdopen", fdopen)
    return failed


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name the file")
def test_disk_full_while_writing_a_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    suite = write(tmp_path)
    failed = fail_writes_under(monkeypatch, f"{os.sep}cells{os.sep}")
    assert main(["run", str(suite)]) == 2
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert failed, "no record write was attempted"
    store = tmp_path / "results" / "res"
    assert re.search(rf"disk full while writing {re.escape(str(store / 'cells'))}/[0-9a-f]+\.json:",
                     line), line
    assert "free space" in line and "Traceback" not in out + err
    # the run stopped at the first failed write; nothing half-written, no orphan predictions
    assert len(failed) == 1
    assert [f for f in files(store) if "/" in f or ".tmp" in f] == []  # no cells/, predictions/

    monkeypatch.undo()  # space again: the run completes
    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "user-cache"))
    assert main(["run", str(suite)]) == 0
    assert len(files(store / "cells")) == 2


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name the file")
def test_disk_full_while_caching_features(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    suite = write(tmp_path)
    failed = fail_writes_under(monkeypatch, f"{os.sep}features{os.sep}")
    assert main(["run", str(suite)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert failed and "disk full while writing" in line and str(tmp_path / "cache") in line
    assert ".npy" in line or ".json" in line
    assert not [f for f in files(tmp_path / "cache") if ".tmp" in f or f.startswith(".")]
    assert not [f for f in files(tmp_path / "cache") if Path(f).name.startswith(".")]
    assert not (tmp_path / "results" / "res" / "cells").exists()


def test_disk_full_elsewhere_is_still_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A full disk met outside mmbench's own writes (e.g. a plugin's cache) is exit 2 too."""
    from mmbench_cifar10 import images

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "x.npy"))

    monkeypatch.setattr(images.np, "save", full)
    suite = tmp_path / "suite.toml"
    data = tmp_path / "data" / "cifar10" / "test" / "cat"
    data.mkdir(parents=True)
    from PIL import Image

    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(data / "0000.jpg")
    (data.parents[1] / "captions.csv").write_text(
        "path,label,caption,primer_caption,test_index\ntest/cat/0000.jpg,cat,a cat,A cat.,0\n")
    suite.write_text(f'name = "full"\nresults_dir = "{tmp_path / "results"}"\n'
                     f'[[datasets]]\nname = "cifar10"\n'
                     f'params = {{ data_dir = "{tmp_path / "data"}", download = false }}\n'
                     f'[[featurizers]]\nname = "pixels"\n[[classifiers]]\nname = "logreg"\n')
    assert main(["run", str(suite)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"error: disk full while writing {tmp_path / 'x.npy'}: free space and run " \
                   "again; finished cells are kept"
