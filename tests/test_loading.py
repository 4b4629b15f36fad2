"""The shared loading path (mmbench.loading) on real CIFAR-10 JPEGs: decoding, mode and size
rules, the decoded-array cache, load-time checks and content fingerprints."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mmbench.errors import DataError, UserError
from mmbench.loading import (
    SizePolicy,
    check_data,
    content_fingerprint,
    decode_images,
    load_images,
)
from mmbench.protocols import MultimodalData

from cifar_slice import cifar_jpegs


@pytest.fixture
def jpegs(tmp_path: Path) -> list[Path]:
    return [p for p, _ in cifar_jpegs(2, tmp_path / "img")]


def test_decodes_in_order_as_pil_does(jpegs: list[Path]) -> None:
    got = decode_images(jpegs)
    want = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in jpegs])
    assert got.dtype == np.uint8 and got.shape == (20, 32, 32, 3)
    np.testing.assert_array_equal(got, want)


def test_mixed_sizes_are_refused_naming_two_files(jpegs: list[Path]) -> None:
    Image.open(jpegs[5]).resize((64, 48)).save(jpegs[5])
    with pytest.raises(UserError) as err:
        decode_images(jpegs)
    msg = str(err.value)
    assert str(jpegs[0]) in msg and "32x32" in msg and str(jpegs[5]) in msg and "64x48" in msg
    assert "image_size" in msg and "\n" not in msg


@pytest.mark.parametrize("method", ["squash", "crop", "pad"])
def test_resize_brings_every_image_to_the_size(jpegs: list[Path], method: str) -> None:
    Image.open(jpegs[1]).resize((64, 32)).save(jpegs[1])
    got = decode_images(jpegs, SizePolicy((16, 24), method))
    assert got.shape == (20, 24, 16, 3)
    if method == "pad":  # a 64x32 image fits as 16x8 in the middle of 16x24: black bands
        assert got[1, :7].max() == 0 and got[1, -7:].max() == 0 and got[1, 12].max() > 0
    if method == "crop":  # covered: no black band
        assert got[1, 0].max() > 0 and got[1, -1].max() > 0


def test_fixed_size_without_resize_refuses_another_size(jpegs: list[Path]) -> None:
    with pytest.raises(UserError, match=r"image is 32x32 pixels; image_size is 16x16: set resize"):
        decode_images(jpegs, SizePolicy((16, 16)))


def test_modes_are_converted_and_16_bit_refused(tmp_path: Path, jpegs: list[Path]) -> None:
    grey = tmp_path / "grey.png"
    Image.open(jpegs[0]).convert("L").save(grey)
    got = decode_images([grey, jpegs[0]])
    assert (got[0, ..., 0] == got[0, ..., 1]).all()
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((32, 32), 40000, dtype=np.uint16)).save(deep)
    with pytest.raises(UserError, match=r"deep.png: image mode 'I;16' is not 8-bit"):
        decode_images([jpegs[0], deep])


def test_undecodable_and_missing_files_are_named(tmp_path: Path, jpegs: list[Path]) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(UserError, match=f"cannot decode image {bad}"):
        decode_images([jpegs[0], bad])
    gone = tmp_path / "gone.jpg"
    with pytest.raises(UserError, match=f"1 image file.s. do not exist: {gone}"):
        load_images([jpegs[0], gone])


def test_cache_reload_and_changed_file(jpegs: list[Path]) -> None:
    first = load_images(jpegs)
    again = load_images(jpegs)
    assert not first.from_cache and again.from_cache and again.digest == first.digest
    np.testing.assert_array_equal(again.images, first.images)
    Image.open(jpegs[3]).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(jpegs[3])
    changed = load_images(jpegs)
    assert not changed.from_cache and changed.digest != first.digest


def test_a_changed_file_replaces_the_entry_of_its_paths(jpegs: list[Path], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry is found by the paths and used only when the files' sizes and mtimes are the
    ones it was decoded from; a changed file's new decoding takes the entry's place."""
    import os

    from mmbench import paths

    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "cache"))
    first = load_images(jpegs)
    before = Image.open(jpegs[3])
    before.transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(jpegs[3])
    os.utime(jpegs[3], ns=(0, os.stat(jpegs[0]).st_mtime_ns))  # a new size, an old mtime
    changed = load_images(jpegs)
    assert not changed.from_cache and changed.digest != first.digest
    again = load_images(jpegs)
    assert again.from_cache and again.digest == changed.digest
    assert len(list((paths.cache_dir() / "images").iterdir())) == 1
    np.testing.assert_array_equal(again.images[3], np.asarray(Image.open(jpegs[3])))


def test_a_reload_checks_the_entry_while_it_stats_the_files_and_maps_it(
        jpegs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sha256 of the cached array runs on another thread, beside the ``stat`` of every
    file; the array is the cache file mapped copy-on-write: writing to it changes neither the
    file nor the next reload."""
    import mmap
    import threading

    from mmbench.loading import sources, store

    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "cache"))
    first = load_images(jpegs)
    seen: dict[str, set[str]] = {"verify": set(), "stat": set()}
    overlap = threading.Barrier(2, timeout=10)  # each waits for the other: both at once
    verify, stamp = store._verified, sources.source_stamp

    def verified(*args: object, **kw: object) -> object:
        seen["verify"].add(threading.current_thread().name)
        overlap.wait()
        return verify(*args, **kw)

    def stamped(*args: object, **kw: object) -> str:
        seen["stat"].add(threading.current_thread().name)
        overlap.wait()
        return stamp(*args, **kw)

    monkeypatch.setattr(store, "_verified", verified)
    monkeypatch.setattr(sources, "source_stamp", stamped)
    again = load_images(jpegs)
    assert again.from_cache and seen["stat"] == {threading.main_thread().name}
    assert len(seen["verify"]) == 1 and seen["verify"] != seen["stat"]
    base = again.images
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)
    again.images[0] = 0
    monkeypatch.setattr(store, "_verified", verify)
    monkeypatch.setattr(sources, "source_stamp", stamp)
    third = load_images(jpegs)
    assert third.from_cache
    np.testing.assert_array_equal(third.images, first.images)


def test_a_cache_that_cannot_be_mapped_is_read(jpegs: list[Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from mmbench.loading import store

    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "cache"))
    first = load_images(jpegs)

    def refuse(*args: object, **kw: object) -> None:
        raise OSError(19, "No such device")  # what mmap says on a file system without it

    monkeypatch.setattr(store.mmap, "mmap", refuse)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not taken for a damaged entry
        again = load_images(jpegs)
    assert again.from_cache and again.images.flags.writeable
    np.testing.assert_array_equal(again.images, first.images)


def test_damaged_cache_entry_is_decoded_again(jpegs: list[Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from mmbench import paths

    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "cache"))  # only this test's entry
    first = load_images(jpegs)
    [npy] = list((paths.cache_dir() / "images").glob("*/images.npy"))
    npy.write_bytes(npy.read_bytes()[:-10])
    with pytest.warns(UserWarning, match="is damaged"):
        again = load_images(jpegs)
    assert not again.from_cache and again.digest == first.digest
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_images(jpegs).from_cache


def _data(texts: list, y: list[int], **kw) -> MultimodalData:
    return MultimodalData({"text": texts}, np.asarray(y, dtype=np.int64), ("a", "b"), "f", **kw)


def test_load_checks_name_the_problem() -> None:
    with pytest.raises(UserError, match=r"'t', modality 'text': 2 row\(s\) \(1, 3\) of 4 have no"):
        check_data(_data(["x", float("nan"), "y", "  "], [0, 1, 0, 1]), "t")
    with pytest.raises(UserError, match=r"labels outside 0..1 .* 1 row\(s\) \(2\)"):
        check_data(_data(["x", "y", "z"], [0, 1, 2]), "t")
    with pytest.raises(DataError, match="modality 'text' has 2 samples but there are 3 labels"):
        _data(["x", "y"], [0, 1, 1])
    check_data(_data(["x", "y"], [0, 1]), "t")


def test_fingerprint_follows_content_not_source() -> None:
    frame = pd.DataFrame({"age": [1.0, 2.0], "kind": ["u", "v"]})
    y = np.array([0, 1])
    base = content_fingerprint({"text": ["a", "b"], "tabular": frame}, y, ("x", "z"))
    same = content_fingerprint({"tabular": frame.copy(), "text": ["a", "b"]}, y.copy(), ("x", "z"))
    assert base == same
    assert base != content_fingerprint({"text": ["a", "c"], "tabular": frame}, y, ("x", "z"))
    assert base != content_fingerprint({"text": ["a", "b"], "tabular": frame}, y, ("x", "z"),
                                       groups=np.array([0, 0]))
    assert base != content_fingerprint({"text": ["a", "b"], "tabular": frame}, y, ("x", "z"),
                                       params={"resize": "crop"})


def test_decoding_reports_progress(jpegs: list[Path]) -> None:
    import io

    from rich.console import Console

    from mmbench.progress import Reporter

    buf = io.StringIO()
    with Reporter(Console(file=buf, width=200), live=False):
        decode_images(jpegs, description="decoding my images")
    out = buf.getvalue()
    assert "decoding my images: started" in out and "decoding my images: done in" in out


@pytest.mark.parametrize("side", [32, 200])
def test_small_images_decode_in_the_calling_thread_large_ones_on_threads(
        tmp_path: Path, jpegs: list[Path], side: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """On threads, small images decode slower than in one loop (the GIL: see
    ``THREAD_PIXELS``), so only images of at least that many pixels go to threads; either
    way the array is the same."""
    import threading

    from mmbench.loading import images

    paths = [tmp_path / f"{i}.png" for i in range(len(jpegs))]
    for src, dst in zip(jpegs, paths):
        Image.open(src).resize((side, side)).save(dst)
    seen: set[int] = set()
    decode = images.decode_one

    def recording(*args: object, **kwargs: object) -> np.ndarray:
        seen.add(threading.get_ident())
        return decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(images, "decode_one", recording)
    monkeypatch.setattr(images.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(images, "THREAD_PIXELS", 100 * 100)
    got = decode_images(paths)
    np.testing.assert_array_equal(
        got, np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths]))
    caller = threading.get_ident()
    assert (seen == {caller}) if side * side < 100 * 100 else (caller in seen and len(seen) > 1)
