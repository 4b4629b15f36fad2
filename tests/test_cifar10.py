"""The cifar10 dataset plugin: real shared data (when MMBENCH_DATA_DIR is set), and small data
this module makes (official python batches, JPEG folders, a download from a local server)."""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import io
import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import mmbench_cifar10
import numpy as np
import pytest
from http_kit import Faults, serve
from mmbench_cifar10 import CLASS_NAMES, Cifar10, sources
from mmbench_cifar10 import images as images_mod
from mmbench_cifar10.sources import damage
from mmbench_cifar10.unpickle import load_batch
from PIL import Image

import mmbench.download as download_mod
from mmbench.errors import DataMissingError, UserError

REAL_DATA = os.environ.get("MMBENCH_DATA_DIR")
PER_CLASS = 3  # the made-up test sets: 30 images
#: (data root, images, labels, captions.csv rows) of a made-up JPEG-layout folder.
JpegFolder = tuple[Path, np.ndarray, np.ndarray, list[dict[str, object]]]


# ----------------------------------------------------------------------------- made-up data
def make_set(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8[30,32,32,3] images (a distinct colour + a gradient each: smooth, so JPEG keeps
    them close) and labels in a shuffled (official-like) order."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(10), PER_CLASS)).astype(np.int64)
    colour = rng.integers(40, 216, (len(y), 1, 1, 3))
    ramp = np.linspace(-30, 30, 32)[None, None, :, None] * rng.choice([-1, 1], (len(y), 1, 1, 3))
    x = np.broadcast_to(np.clip(colour + ramp, 0, 255), (len(y), 32, 32, 3))
    return x.astype(np.uint8), y


def write_batches(folder: Path, x: np.ndarray, y: np.ndarray) -> Path:
    """``folder/cifar-10-batches-py/{test_batch,batches.meta}`` in the official format."""
    d = folder / "cifar-10-batches-py"
    d.mkdir(parents=True)
    batch = {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": [int(v) for v in y],
        b"data": x.transpose(0, 3, 1, 2).reshape(len(x), -1),  # CHW rows, as the originals
        b"filenames": [f"img_{i}.png".encode() for i in range(len(y))],
    }
    meta = {b"label_names": [n.encode() for n in CLASS_NAMES], b"num_cases_per_batch": len(y)}
    (d / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    (d / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return d


def tar_folder(src: Path, archive: Path, arcname: str) -> Path:
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname=arcname)
    return archive


def caption_of(i: int, label: int) -> str:
    return f"made-up caption {i} of a {CLASS_NAMES[label]}"


def captions_json(y: np.ndarray) -> dict:  # type: ignore[type-arg]
    return {
        f"cifar-10-images-test/{i}.png": {
            "classname": CLASS_NAMES[c],
            "target": int(c),
            "primer_caption": f"A photo of a {CLASS_NAMES[c]}.",
            "synthetic_caption": [caption_of(i, int(c))],
            "synthetic_merged_caption": ["unused"],
        }
        for i, c in enumerate(y)
    }


def jpeg_rows(y: np.ndarray) -> list[dict[str, object]]:
    seen = [0] * 10
    rows = []
    for i, c in enumerate(y):
        name = CLASS_NAMES[c]
        rows.append(
            {
                "path": f"test/{name}/{seen[c]:04d}.jpg",
                "label": name,
                "caption": caption_of(i, int(c)),
                "primer_caption": f"A photo of a {name}.",
                "test_index": i,
            }
        )
        seen[c] += 1
    return rows


def write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(
            f, fieldnames=["path", "label", "caption", "primer_caption", "test_index"]
        )
        w.writeheader()
        w.writerows(rows)


def write_jpegs(folder: Path, x: np.ndarray, y: np.ndarray) -> list[dict[str, object]]:
    rows = jpeg_rows(y)
    for r, img in zip(rows, x):
        p = folder / str(r["path"])
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(p, quality=95)
    return rows


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache and no configured data folder; returns a fresh data root."""
    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MMBENCH_DATA_DIR", raising=False)
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    return tmp_path / "data"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root))
    )
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", root
    finally:
        srv.shutdown()
        srv.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("bad", ["synthetic_caption", "", "Caption"])
def test_bad_caption_column_fails_at_construction(bad: str) -> None:
    with pytest.raises(UserError, match="'caption', 'primer_caption'"):
        Cifar10(caption=bad)


@pytest.mark.parametrize("bad", [0, -2, True, "3", 2.0])
def test_bad_per_class(bad: object) -> None:
    with pytest.raises(UserError, match="per_class"):
        Cifar10(per_class=bad)  # type: ignore[arg-type]


def test_registration_and_light_import() -> None:
    got: list[tuple[type, str]] = []
    mmbench_cifar10.mmbench_register_datasets(
        lambda cls, name=None, aliases=(): got.append((cls, name))
    )
    assert got == [(Cifar10, "cifar10")] and Cifar10.modalities == ("image", "text")
    code = "import sys, mmbench_cifar10; print(sorted({'numpy', 'PIL'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- batches
def test_extracted_batches_with_json_captions(env: Path) -> None:
    x, y = make_set()
    write_batches(env / "cifar10", x, y)
    (env / "cifar10" / "CIFAR10_test.json").write_text(json.dumps(captions_json(y)))
    d = Cifar10(data_dir=str(env)).load()
    assert d.modalities["image"].dtype == np.uint8 and d.y.dtype == np.int64
    np.testing.assert_array_equal(d.modalities["image"], x)  # CHW -> HWC, official order
    np.testing.assert_array_equal(d.y, y)
    assert d.modalities["text"] == [caption_of(i, int(c)) for i, c in enumerate(y)]
    assert d.class_names == CLASS_NAMES and d.meta["layout"] == "batches"

    primer = Cifar10(data_dir=str(env), caption="primer_caption").load()
    assert primer.modalities["text"] == [f"A photo of a {CLASS_NAMES[c]}." for c in y]
    assert primer.fingerprint != d.fingerprint

    small = Cifar10(data_dir=str(env), per_class=2).load()
    expect = np.sort(np.concatenate([np.flatnonzero(y == c)[:2] for c in range(10)]))
    np.testing.assert_array_equal(small.modalities["image"], x[expect])
    assert small.modalities["text"] == [caption_of(int(i), int(y[i])) for i in expect]
    assert small.fingerprint not in (d.fingerprint, primer.fingerprint)
    with pytest.raises(UserError, match="per_class=4"):
        Cifar10(data_dir=str(env), per_class=4).load()


def test_tarball_in_readonly_folder_with_csv(env: Path, tmp_path: Path) -> None:
    x, y = make_set(1)
    write_batches(tmp_path / "src", x, y)
    folder = env / "cifar10"
    tar_folder(
        tmp_path / "src" / "cifar-10-batches-py",
        folder / "cifar-10-python.tar.gz",
        "cifar-10-batches-py",
    )
    rows = jpeg_rows(y)[::-1]  # rows out of order: matched through test_index
    write_csv(folder / "captions.csv", rows)
    before = sorted(p.name for p in folder.rglob("*"))
    d = Cifar10(data_dir=str(env)).load()
    np.testing.assert_array_equal(d.modalities["image"], x)
    assert d.modalities["text"][0] == caption_of(0, int(y[0]))
    assert sorted(p.name for p in folder.rglob("*")) == before  # nothing written there
    assert list((tmp_path / "cache" / "cifar10" / "unpacked").iterdir())


def damage_file(path: Path, how: str) -> None:
    """Truncate ``path`` to half, or flip one byte in its middle."""
    blob = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(blob[: len(blob) // 2])
    else:
        blob[len(blob) // 2] ^= 0xFF
        path.write_bytes(blob)


@pytest.mark.parametrize("how", ["truncated", "tampered"])
def test_damaged_caches_are_detected_and_rebuilt(env: Path, tmp_path: Path, how: str) -> None:
    x, y = make_set(5)
    write_batches(tmp_path / "src", x, y)
    tar_folder(tmp_path / "src" / "cifar-10-batches-py", env / "cifar10" / "cifar-10-python.tar.gz",
               "cifar-10-batches-py")
    write_csv(env / "cifar10" / "captions.csv", jpeg_rows(y))
    first = Cifar10(data_dir=str(env)).load()
    arrays = tmp_path / "cache" / "cifar10" / "arrays"
    (entry,) = arrays.iterdir()
    damage_file(entry / "images.npy", how)  # the decoded-array cache
    with pytest.warns(UserWarning, match=f"decoded CIFAR-10 cache {entry} is damaged"):
        again = Cifar10(data_dir=str(env)).load()
    np.testing.assert_array_equal(again.modalities["image"], x)
    assert again.fingerprint == first.fingerprint
    assert damage(entry) is None  # rewritten whole

    shutil.rmtree(arrays)  # now the unpacked archive is read again
    (unpacked,) = (tmp_path / "cache" / "cifar10" / "unpacked").iterdir()
    damage_file(unpacked / "cifar-10-batches-py" / "test_batch", how)
    with pytest.warns(UserWarning, match=f"unpacked cache {unpacked} cannot be trusted"):
        third = Cifar10(data_dir=str(env)).load()
    np.testing.assert_array_equal(third.modalities["image"], x)
    assert damage(unpacked) is None


def test_interrupted_download_is_no_dataset_and_resumes(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, y = make_set(6)
    www = tmp_path / "www"
    www.mkdir()
    md5 = publish(www, tmp_path, y, x)
    monkeypatch.setattr(download_mod, "RETRY_S", 0.0)
    target = tmp_path / "cache" / "data" / "cifar10"
    with serve({p.name: p.read_bytes() for p in www.iterdir()}) as srv:
        point_remotes(monkeypatch, srv.base, md5)
        srv.faults["cifar-10-python.tar.gz"] = Faults(drops=download_mod.ATTEMPTS, cut=0.3)
        with pytest.raises(DataMissingError, match="could not download CIFAR-10 images .*kept in"):
            Cifar10().load()
        assert [p.name for p in target.iterdir()] == [".cifar-10-python.tar.gz.part"]
        kept = (target / ".cifar-10-python.tar.gz.part").stat().st_size
        with pytest.raises(DataMissingError, match="the images and the captions not found"):
            Cifar10(download=False).load()  # the partial file is not taken for data
        d = Cifar10().load()
    assert srv.ranges("cifar-10-python.tar.gz")[-1] == f"bytes={kept}-"
    assert sorted(p.name for p in target.iterdir()) == ["CIFAR10_test.json",
                                                       "cifar-10-python.tar.gz"]
    np.testing.assert_array_equal(d.modalities["image"], x)


def test_restricted_unpickler_refuses_os_system(env: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    d = env / "cifar10" / "cifar-10-batches-py"
    d.mkdir()
    (d / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(UserError, match=r"refusing to load global (posix|os|nt)\.system"):
        load_batch(d / "test_batch")
    (env / "cifar10" / "captions.csv").write_text("path,label,caption,primer_caption,test_index\n")
    with pytest.raises(UserError, match="test_batch"):
        Cifar10(data_dir=str(env)).load()
    assert not marker.exists()


def test_codecs_encode_only_latin1(tmp_path: Path) -> None:
    bad = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R."
    (tmp_path / "b").write_bytes(bad)
    with pytest.raises(UserError, match="rot13"):
        load_batch(tmp_path / "b")


# ----------------------------------------------------------------------------- download
def publish(root: Path, tmp_path: Path, y: np.ndarray, x: np.ndarray) -> str:
    write_batches(tmp_path / "pub", x, y)
    tgz = tar_folder(
        tmp_path / "pub" / "cifar-10-batches-py",
        root / "cifar-10-python.tar.gz",
        "cifar-10-batches-py",
    )
    (root / "CIFAR10_test.json").write_text(json.dumps(captions_json(y)))
    return hashlib.md5(tgz.read_bytes()).hexdigest()


def point_remotes(monkeypatch: pytest.MonkeyPatch, base: str, md5: str | None) -> None:
    monkeypatch.setitem(
        sources.REMOTES,
        "images",
        sources.Remote(f"{base}/cifar-10-python.tar.gz", "cifar-10-python.tar.gz", md5),
    )
    monkeypatch.setitem(
        sources.REMOTES,
        "captions",
        sources.Remote(f"{base}/CIFAR10_test.json", "CIFAR10_test.json"),
    )


def test_download_then_offline_reuse(
    env: Path, tmp_path: Path, server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, root = server
    x, y = make_set(2)
    point_remotes(monkeypatch, base, publish(root, tmp_path, y, x))
    d = Cifar10(per_class=1).load()
    target = tmp_path / "cache" / "data" / "cifar10"
    assert sorted(p.name for p in target.iterdir()) == [
        "CIFAR10_test.json",
        "cifar-10-python.tar.gz",
    ]
    assert len(d) == 10 and sorted(d.y.tolist()) == list(range(10))
    point_remotes(monkeypatch, f"http://127.0.0.1:{closed_port()}", None)
    np.testing.assert_array_equal(Cifar10().load().modalities["image"], x)  # no network needed


def test_download_md5_mismatch(
    env: Path, tmp_path: Path, server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, root = server
    x, y = make_set()
    publish(root, tmp_path, y, x)
    point_remotes(monkeypatch, base, "0" * 32)
    with pytest.raises(UserError, match="md5 mismatch .*cifar-10-python.tar.gz.*expected 0{32}"):
        Cifar10().load()
    target = tmp_path / "cache" / "data" / "cifar10"
    assert not any(target.iterdir())


def test_offline_and_nothing_on_disk_is_one_clear_message(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_remotes(monkeypatch, f"http://127.0.0.1:{closed_port()}", None)
    with pytest.raises(DataMissingError) as info:
        Cifar10().load()
    msg = str(info.value)
    download_to = str(tmp_path / "cache" / "data" / "cifar10")
    for part in [
        "could not download CIFAR-10 images",
        "127.0.0.1",
        download_to,
        "MMBENCH_DATA_DIR",
        "cifar-10-python.tar.gz",
        "cifar10_jpg.tar.gz",
        "captions.csv",
    ]:
        assert part in msg
    assert msg.count("CIFAR-10:") == 1

    with pytest.raises(DataMissingError, match="download enabled") as off:
        Cifar10(download=False).load()
    assert "could not download" not in str(off.value) and download_to in str(off.value)


def test_configured_empty_folder_never_downloads(env: Path) -> None:
    with pytest.raises(DataMissingError) as info:
        Cifar10(data_dir=str(env)).load()
    msg = str(info.value)
    assert str(env / "cifar10") in msg and "the images and the captions not found" in msg
    assert "no data folder configured" in msg


# ----------------------------------------------------------------------------- JPEG layout
@pytest.fixture
def jpeg_folder(env: Path) -> JpegFolder:
    x, y = make_set(3)
    rows = write_jpegs(env / "cifar10", x, y)
    write_csv(env / "cifar10" / "captions.csv", rows)
    return env, x, y, rows


def test_jpeg_folder_matches_pil_and_uses_cache(
    jpeg_folder: JpegFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, x, y, rows = jpeg_folder
    d = Cifar10(data_dir=str(env)).load()
    decoded = np.stack(
        [np.asarray(Image.open(env / "cifar10" / str(r["path"])).convert("RGB")) for r in rows]
    )
    np.testing.assert_array_equal(d.modalities["image"], decoded)
    assert np.abs(d.modalities["image"].astype(int) - x).mean() < 8  # JPEG is close, not exact
    np.testing.assert_array_equal(d.y, y)
    assert d.meta["layout"] == "jpeg"

    def no_decoding(*args: object) -> None:
        raise AssertionError("decoded again despite an unchanged source")

    monkeypatch.setattr(images_mod, "_from_jpegs", no_decoding)
    assert Cifar10(data_dir=str(env)).load().fingerprint == d.fingerprint
    # a changed file changes the source key: decoded again
    first = env / "cifar10" / str(rows[0]["path"])
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(first)
    os.utime(first, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(AssertionError, match="decoded again"):
        Cifar10(data_dir=str(env)).load()


def test_json_captions_with_jpegs_match_by_derived_path(jpeg_folder: JpegFolder) -> None:
    env, _, y, rows = jpeg_folder
    (env / "cifar10" / "captions.csv").unlink()
    (env / "cifar10" / "CIFAR10_test.json").write_text(json.dumps(captions_json(y)))
    d = Cifar10(data_dir=str(env)).load()
    assert d.modalities["text"] == [r["caption"] for r in rows]
    np.testing.assert_array_equal(d.y, y)


def test_corrupt_jpeg_names_the_file(jpeg_folder: JpegFolder) -> None:
    env, _, _, rows = jpeg_folder
    bad = env / "cifar10" / str(rows[4]["path"])
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(UserError, match=f"cannot decode image {bad}"):
        Cifar10(data_dir=str(env)).load()


def test_missing_caption_rows_are_named(jpeg_folder: JpegFolder) -> None:
    env, _, _, rows = jpeg_folder
    write_csv(env / "cifar10" / "captions.csv", rows[:-2])
    with pytest.raises(UserError, match="2 image.*no caption row") as info:
        Cifar10(data_dir=str(env)).load()
    assert str(rows[-1]["path"]) in str(info.value) and str(rows[-2]["path"]) in str(info.value)


def test_missing_rows_by_test_index_for_batches(env: Path) -> None:
    x, y = make_set()
    write_batches(env / "cifar10", x, y)
    captions = captions_json(y)
    del captions["cifar-10-images-test/7.png"]
    (env / "cifar10" / "CIFAR10_test.json").write_text(json.dumps(captions))
    with pytest.raises(UserError, match=r"1 image\(s\) have no caption row \(test_index\): 7\."):
        Cifar10(data_dir=str(env)).load()


def test_empty_caption_is_named(jpeg_folder: JpegFolder) -> None:
    env, _, _, rows = jpeg_folder
    rows[5]["caption"] = "  "
    write_csv(env / "cifar10" / "captions.csv", rows)
    with pytest.raises(UserError, match=r"empty 'caption'.*line 7 \(path " + str(rows[5]["path"])):
        Cifar10(data_dir=str(env)).load()
    assert len(Cifar10(data_dir=str(env), caption="primer_caption").load()) == 30


def test_label_disagreement(jpeg_folder: JpegFolder) -> None:
    env, _, _, rows = jpeg_folder
    rows[0]["label"] = "truck" if rows[0]["label"] != "truck" else "cat"
    write_csv(env / "cifar10" / "captions.csv", rows)
    with pytest.raises(UserError, match="disagree with their image's label.*line 2"):
        Cifar10(data_dir=str(env)).load()


def test_tar_path_traversal_is_refused(env: Path, tmp_path: Path) -> None:
    archive = env / "cifar10" / "cifar10_jpg.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("test/../../../escaped.jpg")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    write_csv(env / "cifar10" / "captions.csv", [])
    with pytest.raises(UserError, match="unsafe archive member 'test/../../../escaped.jpg'"):
        Cifar10(data_dir=str(env)).load()
    assert not list(tmp_path.rglob("escaped.jpg"))


# ----------------------------------------------------------------------------- real data
@pytest.fixture(scope="session")
def real_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the real-data tests, so the 10k JPEGs are unpacked and decoded once."""
    if not REAL_DATA:
        pytest.skip("MMBENCH_DATA_DIR is not set: no real CIFAR-10 to test against")
    return tmp_path_factory.mktemp("real-cache")


@pytest.fixture
def real(real_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(real_cache))
    monkeypatch.setenv("MMBENCH_DATA_DIR", str(REAL_DATA))
    return Path(str(REAL_DATA)) / "cifar10"


def real_jpegs(folder: Path, members: list[str]) -> list[np.ndarray]:
    """Decode some JPEGs straight from the archive (or the extracted folder) with PIL."""
    if all((folder / m).is_file() for m in members):
        return [np.asarray(Image.open(folder / m).convert("RGB")) for m in members]
    found: dict[str, bytes] = {}
    with tarfile.open(folder / "cifar10_jpg.tar.gz") as tf:
        for info in tf:  # stream: stop once all are found
            if info.name in members:
                found[info.name] = tf.extractfile(info).read()  # type: ignore[union-attr]
                if len(found) == len(members):
                    break
    return [np.asarray(Image.open(io.BytesIO(found[m])).convert("RGB")) for m in members]


def test_real_per_class_subset(real: Path) -> None:
    d = Cifar10(per_class=20).load()
    p = Cifar10(per_class=20, caption="primer_caption").load()
    assert d.modalities["image"].shape == (200, 32, 32, 3)
    assert d.modalities["image"].dtype == np.uint8 and d.y.dtype == np.int64
    assert np.bincount(d.y).tolist() == [20] * 10
    assert p.modalities["text"] == [f"A photo of a {CLASS_NAMES[c]}." for c in d.y]
    assert all(isinstance(t, str) and t.strip() for t in d.modalities["text"])
    with open(real / "captions.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["test_index"]))
    by_class: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_class.setdefault(r["label"], []).append(r)
    expect = sorted(
        (r for rs in by_class.values() for r in rs[:20]), key=lambda r: int(r["test_index"])
    )
    assert d.modalities["text"] == [r["caption"] for r in expect]
    assert [CLASS_NAMES[c] for c in d.y] == [r["label"] for r in expect]
    picks = [0, 57, 199]
    for i, img in zip(picks, real_jpegs(real, [expect[i]["path"] for i in picks])):
        np.testing.assert_array_equal(d.modalities["image"][i], img)


def test_real_full_set_and_fast_cached_reload(real: Path) -> None:
    d = Cifar10().load()
    t0 = time.perf_counter()
    again = Cifar10().load()
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0, f"cached load took {elapsed:.2f} s"
    assert again.fingerprint == d.fingerprint
    np.testing.assert_array_equal(again.modalities["image"], d.modalities["image"])
    assert d.modalities["image"].shape == (10000, 32, 32, 3) and len(d.modalities["text"]) == 10000
    assert np.bincount(d.y).tolist() == [1000] * 10
    with open(real / "captions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["test_index"]) for r in rows] == list(range(10000))
    assert [CLASS_NAMES[c] for c in d.y] == [r["label"] for r in rows]
    assert d.modalities["text"] == [r["caption"] for r in rows]
    picks = [0, 4321, 9999]
    for i, img in zip(picks, real_jpegs(real, [rows[i]["path"] for i in picks])):
        np.testing.assert_array_equal(d.modalities["image"][i], img)
