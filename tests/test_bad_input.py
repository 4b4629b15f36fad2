"""Bad input, case by case, through the command line: one line on stderr naming what is wrong
and where (TOML line, file, sample index), exit code 2, no traceback without ``--debug``, and the
results folder unchanged.

The results folder of every case already holds a finished run. "Unchanged" means every file is
byte for byte what it was: a run stopped by bad input before recording anything does not even
rewrite its manifest, and a cell met by bad input mid-run (NaN features, a plugin returning the
wrong shape) is not recorded at all. That other cells of the same run are still recorded is
shown by ``test_cells_untouched_by_bad_input_are_recorded_and_the_rest_retried``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import textwrap
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from sklearn.linear_model import LogisticRegression

import mmbench
from mmbench.cli import main
from mmbench.errors import UserError
from mmbench.protocols import FusionBase
from mmbench.runner import run_suite
from mmbench.testing import registered

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
NAME = "bad"


# ----------------------------------------------------------------------------- plugins
class NanText:
    """Text features with NaN in samples 3 and 7 and inf in sample 11 (a broken plugin)."""

    modality = "text"
    version = "1"
    fits_on_train = False

    def fit(self, samples: list[str]) -> NanText:
        return self

    def transform(self, samples: list[str]) -> np.ndarray:
        x = np.array([[len(t), t.count(" ")] for t in samples], dtype=np.float32)
        x[[3, 7], 0] = np.nan
        x[11, 1] = np.inf
        return x


class ExtraColumn(LogisticRegression):
    """predict_proba with one column too many."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = super().predict_proba(X)
        return np.hstack([p, np.zeros((len(p), 1))])


class NanRows(LogisticRegression):
    """predict_proba with NaN in test rows 0 and 5."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = super().predict_proba(X)
        p[[0, 5]] = np.nan
        return p


class DropsAClass(FusionBase):
    """A fusion whose predict_proba forgets the last class."""

    level = "feature"
    min_modalities = 2

    def fit(self, views, y, make_classifier):  # type: ignore[no-untyped-def]
        self._set_classes(y)
        self.clf_ = make_classifier().fit(np.hstack([views[m] for m in sorted(views)]), y)
        return self

    def predict_proba(self, views):  # type: ignore[no-untyped-def]
        return self.clf_.predict_proba(np.hstack([views[m] for m in sorted(views)]))[:, :-1]


BROKEN = types.SimpleNamespace(
    mmbench_register_featurizers=mmbench.hookimpl(lambda register: register(NanText, "nan-text")),
    mmbench_register_classifiers=mmbench.hookimpl(
        lambda register: (register(ExtraColumn, "extra-column"), register(NanRows, "nan-rows"))),
    mmbench_register_fusions=mmbench.hookimpl(
        lambda register: register(DropsAClass, "drops-a-class")),
)


@pytest.fixture
def broken_plugins() -> Iterator[None]:
    with registered(BROKEN, "broken-test-plugin"):
        yield


# ----------------------------------------------------------------------------- suites
BASE = """
seeds = [0]
[[datasets]]
name = "synthetic"
params = { n = 60, n_classes = 3 }

[[featurizers]]
name = "hog-color"
params = { pixels_per_cell = 4 }

[[featurizers]]
name = "tfidf"
params = { max_features = 32, min_df = 1 }

[[fusions]]
name = "concat"

[[classifiers]]
name = "logreg"
"""

CIFAR = """
[[datasets]]
name = "cifar10"
params = {{ data_dir = "{data}", download = false }}

[[featurizers]]
name = "pixels"
params = {{ stride = 8 }}

[[classifiers]]
name = "logreg"
"""


def suite_text(tmp_path: Path, body: str) -> str:
    head = (f'name = "{NAME}"\nresults_dir = "{tmp_path / "results"}"\n'
            f'cache_dir = "{tmp_path / "cache"}"\n')
    return head + textwrap.dedent(body).lstrip()


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(suite_text(tmp_path, body))
    return path


def edit(body: str, old: str, new: str) -> str:
    assert old in body, old
    return body.replace(old, new, 1)


def line_of(path: Path, text: str) -> int:
    """1-based line of the first line of ``path`` containing ``text``."""
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


# ----------------------------------------------------------------------------- data
@functools.cache
def cifar_sample() -> tuple[np.ndarray, np.ndarray]:
    """One test image per class: real CIFAR-10 when MMBENCH_DATA_DIR has it, else made up."""
    root = os.environ.get("MMBENCH_DATA_DIR")
    if root and (Path(root) / "cifar10" / "cifar10_jpg.tar.gz").is_file():
        from cifar_slice import cifar_images

        return cifar_images(1)
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8), np.arange(10)


@dataclass
class JpegData:
    """A CIFAR-10 JPEG folder (``<root>/cifar10/test/<class>/0000.jpg`` + ``captions.csv``)."""

    root: Path
    rows: list[dict[str, object]]

    @property
    def folder(self) -> Path:
        return self.root / "cifar10"

    def image(self, i: int) -> Path:
        return self.folder / str(self.rows[i]["path"])

    def write_captions(self, rows: list[dict[str, object]] | None = None,
                       columns: tuple[str, ...] = ("path", "label", "caption", "primer_caption",
                                                   "test_index")) -> Path:
        path = self.folder / "captions.csv"
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
            w.writeheader()
            w.writerows(self.rows if rows is None else rows)
        return path


def jpeg_data(root: Path, images: np.ndarray, labels: np.ndarray) -> JpegData:
    rows: list[dict[str, object]] = []
    for i, (img, c) in enumerate(zip(images, labels)):
        name = CLASSES[int(c)]
        rel = f"test/{name}/{sum(r['label'] == name for r in rows):04d}.jpg"
        path = root / "cifar10" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path, quality=95)
        rows.append({"path": rel, "label": name, "caption": f"a small {name} in a photo",
                     "primer_caption": f"A photo of a {name}.", "test_index": i})
    data = JpegData(root, rows)
    data.write_captions()
    return data


def write_batches(folder: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """The official python-batch layout (``cifar-10-batches-py/test_batch``, ``batches.meta``)."""
    d = folder / "cifar-10-batches-py"
    d.mkdir(parents=True)
    batch = {b"labels": [int(v) for v in labels],
             b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1)}
    (d / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    meta = {b"label_names": [n.encode() for n in CLASSES]}
    (d / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return d


# ----------------------------------------------------------------------------- the store
def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder holding one finished run of BASE (3 cells)."""
    tmp = tmp_path_factory.mktemp("finished")
    suite = write(tmp, BASE)
    with open(os.devnull, "w") as null:
        summary = run_suite(suite, Console(file=null))
    assert summary.ran == 3 and not summary.failed
    return tmp / "results"


@pytest.fixture
def results(tmp_path: Path, finished_run: Path) -> Path:
    """This test's copy of the finished run's results folder."""
    shutil.copytree(finished_run, tmp_path / "results")
    return tmp_path / "results"


# ----------------------------------------------------------------------------- the cases
@dataclass
class Ctx:
    """What a case may use: its folder, monkeypatch, and hooks run after the command."""

    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    cleanup: list[Callable[[], None]] = field(default_factory=list)
    checks: list[Callable[[], None]] = field(default_factory=list)


Make = Callable[[Ctx], tuple[Path, list[str]]]


@dataclass
class Case:
    """``make(ctx)`` writes what the case needs and returns the suite path and the fragments
    the one-line message must contain (computed from what it wrote)."""

    id: str
    make: Make


def suite_case(body: Callable[[], str], *expect: str, line: str | None = None) -> Make:
    """A suite with a problem: the message names the suite file and, when ``line`` is given,
    the number of the line holding that text."""

    def make(ctx: Ctx) -> tuple[Path, list[str]]:
        path = write(ctx.tmp_path, body())
        found = [f"(line {line_of(path, line)})"] if line else []
        return path, [str(path), *expect, *found]

    return make


def run_case(body: Callable[[], str], *expect: str) -> Make:
    """A valid suite whose run meets bad input (from the broken plugins)."""

    def make(ctx: Ctx) -> tuple[Path, list[str]]:
        return write(ctx.tmp_path, body()), list(expect)

    return make


def cifar_case(damage: Callable[[JpegData], list[str]]) -> Make:
    """A JPEG-layout CIFAR-10 folder of ten real images, damaged by ``damage`` (which returns
    the fragments it expects in the message)."""

    def make(ctx: Ctx) -> tuple[Path, list[str]]:
        data = jpeg_data(ctx.tmp_path / "data", *cifar_sample())
        expect = damage(data)
        return write(ctx.tmp_path, CIFAR.format(data=data.root)), expect

    return make


def malformed_toml(ctx: Ctx) -> tuple[Path, list[str]]:
    path = write(ctx.tmp_path, edit(BASE, "[[classifiers]]", "[[classifiers]"))
    return path, [str(path), "malformed TOML", f"at line {line_of(path, '[[classifiers]')}"]


def truncated_jpeg(data: JpegData) -> list[str]:
    bad = data.image(4)
    bad.write_bytes(bad.read_bytes()[:200])
    return ["cannot decode image", str(bad)]


def wrong_size(data: JpegData) -> list[str]:
    bad = data.image(2)
    Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(bad, format="JPEG")
    return [str(bad), "48x40 pixels", "32x32", "does not resize"]


def sixteen_bit(data: JpegData) -> list[str]:
    bad = data.image(6)
    Image.fromarray(np.full((32, 32), 40000, np.uint16)).save(bad, format="PNG")
    return [str(bad), "mode 'I", "not 8-bit"]


def missing_rows(data: JpegData) -> list[str]:
    data.write_captions(data.rows[:-2])
    return ["captions.csv", "2 image(s) have no caption row", str(data.rows[-1]["path"])]


def extra_rows(data: JpegData) -> list[str]:
    extra = {**data.rows[0], "path": "test/cat/0099.jpg", "label": "cat", "test_index": 99}
    data.write_captions([*data.rows, extra])
    return ["name images that do not exist", "captions.csv line 12", "test/cat/0099.jpg"]


def missing_column(data: JpegData) -> list[str]:
    data.write_captions(columns=("path", "label", "primer_caption", "test_index"))
    return ["captions.csv line 1 (header)", "missing column(s) ['caption']"]


def extra_field(data: JpegData) -> list[str]:
    path = data.write_captions()
    lines = path.read_text().splitlines()
    lines[3] += ",unquoted, comma"
    path.write_text("\n".join(lines) + "\n")
    return ["captions.csv line 4", "7 field(s) but the header has 5", "quote"]


def unknown_label(data: JpegData) -> list[str]:
    data.rows[5]["label"] = "zebra"
    data.write_captions()
    return ["captions.csv line 7", "label 'zebra' is not one of"]


def wrong_label(data: JpegData) -> list[str]:
    data.rows[0]["label"] = "truck" if data.rows[0]["label"] != "truck" else "cat"
    data.write_captions()
    return ["disagree with their image's label", "captions.csv line 2"]


def no_data_folder(ctx: Ctx) -> tuple[Path, list[str]]:
    ctx.monkeypatch.delenv("MMBENCH_DATA_DIR", raising=False)
    nowhere = ctx.tmp_path / "nowhere"
    return write(ctx.tmp_path, CIFAR.format(data=nowhere)), [str(nowhere / "cifar10"),
                                                             "not found", "MMBENCH_DATA_DIR"]


def hostile_pickle(ctx: Ctx) -> tuple[Path, list[str]]:
    """A batch file whose pickle would run ``touch <marker>`` if it were loaded naively."""
    tmp_path = ctx.tmp_path
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    images, labels = cifar_sample()
    folder = tmp_path / "data" / "cifar10"
    batches = write_batches(folder, images, labels)
    (batches / "test_batch").write_bytes(pickle.dumps({b"data": Payload(), b"labels": [0]}, 2))
    JpegData(tmp_path / "data", [{"path": "", "label": CLASSES[int(c)], "caption": "x",
                                  "primer_caption": "y", "test_index": i}
                                 for i, c in enumerate(labels)]).write_captions()

    def payload_did_not_run() -> None:
        assert not marker.exists(), "the pickle's payload ran"

    ctx.checks.append(payload_did_not_run)
    return (write(tmp_path, CIFAR.format(data=tmp_path / "data")),
            [str(batches / "test_batch"), "refusing to load global", "system"])


def md5_mismatch(ctx: Ctx) -> tuple[Path, list[str]]:
    """The official archive from a (local) server, but not the bytes its md5 promises."""
    from mmbench_cifar10 import sources

    tmp_path, monkeypatch = ctx.tmp_path, ctx.monkeypatch
    images, labels = cifar_sample()
    www = tmp_path / "www"
    write_batches(tmp_path / "pub", images, labels)
    www.mkdir()
    with tarfile.open(www / "cifar-10-python.tar.gz", "w:gz") as tf:
        tf.add(tmp_path / "pub" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    actual = hashlib.md5((www / "cifar-10-python.tar.gz").read_bytes()).hexdigest()
    handler = functools.partial(_Quiet, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    ctx.cleanup += [server.shutdown, server.server_close]
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setitem(sources.REMOTES, "images", sources.Remote(
        f"{base}/cifar-10-python.tar.gz", "cifar-10-python.tar.gz", "0" * 32))
    monkeypatch.setitem(sources.REMOTES, "captions", sources.Remote(
        f"{base}/CIFAR10_test.json", "CIFAR10_test.json"))
    monkeypatch.delenv("MMBENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "dl-cache"))
    body = edit(CIFAR.format(data="-"), 'data_dir = "-", download = false', "download = true")
    return write(tmp_path, body), ["md5 mismatch", "cifar-10-python.tar.gz", "0" * 32, actual]


def inner_impossible(ctx: Ctx) -> tuple[Path, list[str]]:
    """48 training samples, 16 per class: no class can be cut into 20 inner folds; refused
    once the data is loaded, before any cell runs."""
    body = edit(edit(BASE, "seeds = [0]", 'seeds = [0]\ninner = { method = "kfold", k = 20 }'),
                'name = "logreg"', 'name = "logreg"\ntune = { C = [0.1, 1] }')
    path = write(ctx.tmp_path, body)
    return path, [f"inner (line {line_of(path, 'inner =')})",
                  "the inner split kfold(k=20) of seed 0's training split (48 rows) is impossible",
                  "class 'class0' has 16 samples", "needs at least 20"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


CASES = [
    Case("malformed-toml", malformed_toml),
    Case("unknown-dataset", suite_case(
        lambda: edit(BASE, 'name = "synthetic"', 'name = "synthetik"'),
        "datasets[0]", "unknown dataset 'synthetik'", "did you mean 'synthetic'",
        line="[[datasets]]")),
    Case("unknown-featurizer", suite_case(
        lambda: edit(BASE, 'name = "tfidf"', 'name = "tfidff"'),
        "featurizers[1]", "unknown featurizer 'tfidff'", "did you mean 'tfidf'")),
    Case("unknown-fusion", suite_case(
        lambda: edit(BASE, 'name = "concat"', 'name = "concatt"'),
        "fusions[0]", "unknown fusion 'concatt'", line="[[fusions]]")),
    Case("unknown-classifier", suite_case(
        lambda: edit(BASE, 'name = "logreg"', 'name = "logregg"'),
        "classifiers[0]", "unknown classifier 'logregg'", line="[[classifiers]]")),
    Case("wrong-param-name", suite_case(
        lambda: edit(BASE, "max_features = 32", "max_feature = 32"),
        "featurizers[1].params.max_feature", "invalid parameter 'max_feature'",
        line="max_feature = 32")),
    Case("wrong-param-type", suite_case(
        lambda: edit(BASE, "n = 60,", 'n = "sixty",'),
        "datasets[0].params.n", "dataset 'synthetic': n must be an integer, got the string "
        '"sixty"', line='n = "sixty"')),
    Case("wrong-param-type-annotation", suite_case(
        lambda: edit(BASE, 'name = "logreg"', 'name = "logreg"\nparams = { C = "big" }'),
        "classifiers[0].params.C", "classifier 'logreg': C must be a number, got the string "
        '"big"', line='C = "big"')),
    Case("wrong-param-value", suite_case(
        lambda: edit(BASE, 'name = "logreg"', 'name = "logreg"\n\nparams = { max_iter = 50, '
                     'C = -1 }'),
        "classifiers[0].params.C", "classifier 'logreg' rejected C = -1", "'C' parameter",
        line="C = -1")),
    Case("empty-sweep", suite_case(
        lambda: edit(BASE, 'name = "logreg"', 'name = "logreg"\nparams = { C = [] }'),
        "classifiers[0].params.C", "empty sweep C = []", line="C = []")),
    Case("tune-key-not-a-parameter", suite_case(
        lambda: edit(BASE, 'name = "logreg"', 'name = "logreg"\ntune = { Cc = [0.1, 1] }'),
        "classifiers[0].tune.Cc", "tune key 'Cc' is not a parameter of classifier 'logreg'",
        "did you mean 'C'?", line="tune = { Cc")),
    Case("tune-log-range-not-positive", suite_case(
        lambda: edit(BASE, 'name = "logreg"',
                     'name = "logreg"\ntune = { C = { log = [0, 10], n = 3 } }'),
        "classifiers[0].tune.C", "log range [0, 10] must be positive", line="tune = { C")),
    Case("tune-log-range-empty", suite_case(
        lambda: edit(BASE, 'name = "logreg"',
                     'name = "logreg"\ntune = { C = { log = [10, 1], n = 3 } }'),
        "classifiers[0].tune.C", "log range [10, 1] is empty", line="tune = { C")),
    Case("tune-and-fixed", suite_case(
        lambda: edit(BASE, 'name = "logreg"',
                     'name = "logreg"\nparams = { C = 1.0 }\ntune = { C = [0.1, 1] }'),
        "classifiers[0].tune.C", "C is both tuned and fixed", line="tune = { C")),
    Case("select-without-sweep", suite_case(
        lambda: edit(BASE, 'name = "logreg"', 'name = "logreg"\nselect = "validation"'),
        "classifiers[0].select", "sweeps nothing", line="select =")),
    Case("calibrate-on-feature-fusion", suite_case(
        lambda: edit(BASE, 'name = "concat"',
                     'name = "concat"\nparams = { calibrate = "temperature" }'),
        "fusions[0].params.calibrate", "calibrate applies to the decision-level fusions",
        "late-mean", "fusion 'concat' is feature-level", line="calibrate =")),
    Case("inner-split-impossible", inner_impossible),
    Case("seed-string", suite_case(
        lambda: edit(BASE, "seeds = [0]", 'seeds = [0, "1"]'), "seeds[1]",
        "valid integer, got '1'", line="seeds =")),
    Case("seed-float", suite_case(
        lambda: edit(BASE, "seeds = [0]", "seeds = [1.5]"), "seeds[0]", "valid integer, got 1.5",
        line="seeds =")),
    Case("seed-bool", suite_case(
        lambda: edit(BASE, "seeds = [0]", "seeds = [true]"), "seeds[0]", "valid integer, got True",
        line="seeds =")),
    Case("seed-negative", suite_case(
        lambda: edit(BASE, "seeds = [0]", "seeds = [-1]"), "seeds[0]",
        "greater than or equal to 0, got -1", line="seeds =")),
    Case("data-folder-missing", no_data_folder),
    Case("truncated-jpeg", cifar_case(truncated_jpeg)),
    Case("image-wrong-size", cifar_case(wrong_size)),
    Case("image-16-bit", cifar_case(sixteen_bit)),
    Case("captions-missing-rows", cifar_case(missing_rows)),
    Case("captions-extra-rows", cifar_case(extra_rows)),
    Case("captions-missing-column", cifar_case(missing_column)),
    Case("captions-extra-field", cifar_case(extra_field)),
    Case("label-not-a-class", cifar_case(unknown_label)),
    Case("label-disagrees-with-image", cifar_case(wrong_label)),
    Case("batch-hostile-pickle", hostile_pickle),
    Case("batch-md5-mismatch", md5_mismatch),
    Case("nan-inf-features", run_case(
        lambda: edit(BASE, 'name = "tfidf"\nparams = { max_features = 32, min_df = 1 }',
                     'name = "nan-text"'),
        "featurizer nan-text (plugin broken-test-plugin)", "NaN or inf features for 3 of 60",
        "sample index 3, 7, 11", "2 cell(s) not recorded")),
    Case("classifier-proba-shape", run_case(
        lambda: edit(BASE, 'name = "logreg"', 'name = "extra-column"'),
        "classifier extra-column (plugin broken-test-plugin)",
        "ExtraColumn.predict_proba returned shape (12, 4); expected (12, 3)",
        "3 cell(s) not recorded")),
    Case("classifier-proba-nan", run_case(
        lambda: edit(BASE, 'name = "logreg"', 'name = "nan-rows"'),
        "classifier nan-rows (plugin broken-test-plugin)",
        "predict_proba returned NaN or inf for 2 of 12 rows (row 0, 5)",
        "3 cell(s) not recorded")),
    Case("fusion-proba-shape", run_case(
        lambda: edit(BASE, 'name = "concat"', 'name = "drops-a-class"'),
        "fusion drops-a-class (plugin broken-test-plugin)",
        "predict_proba returned shape (12, 2); expected (12, 3)", "1 cell(s) not recorded")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_the_store_unchanged(
        case: Case, tmp_path: Path, results: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], broken_plugins: None) -> None:
    ctx = Ctx(tmp_path, monkeypatch)
    suite, expect = case.make(ctx)
    before = snapshot(results)
    try:
        code = main(["run", str(suite)])
    finally:
        for step in ctx.cleanup:
            step()
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert len(lines) == 1, err
    assert lines[0].startswith(("error: ", "invalid suite ")), err
    for fragment in expect:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in out + err
    assert snapshot(results) == before  # not a byte added, changed or removed
    for check in ctx.checks:
        check()


def test_debug_shows_the_exception(tmp_path: Path, results: Path, broken_plugins: None) -> None:
    with pytest.raises(UserError, match="malformed TOML"):
        main(["--debug", "run", str(write(tmp_path, BASE.replace("[[fusions]]", "[[fusions]")))])
    nan = edit(BASE, 'name = "tfidf"\nparams = { max_features = 32, min_df = 1 }',
               'name = "nan-text"')
    with pytest.raises(UserError, match="NaN or inf features"):
        main(["--debug", "run", str(write(tmp_path, nan))])


def test_hostile_pickle_in_a_fresh_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           results: Path) -> None:
    """The same refusal from the installed command line, in a process of its own."""
    ctx = Ctx(tmp_path, monkeypatch)
    suite, expect = hostile_pickle(ctx)
    before = snapshot(results)
    proc = subprocess.run([sys.executable, "-m", "mmbench.cli", "run", str(suite)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "80"})
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "refusing to load global" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert snapshot(results) == before
    for check in ctx.checks:
        check()


def test_cells_untouched_by_bad_input_are_recorded_and_the_rest_retried(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], broken_plugins: None) -> None:
    """A plugin breaking its contract mid-run: its cells are not recorded, the other cells of
    the same run are, completely; a second run skips those and retries only the bad ones."""
    body = edit(BASE, 'name = "logreg"', 'name = "logreg"\n\n[[classifiers]]\n'
                                         'name = "extra-column"')
    suite = write(tmp_path, body)
    assert main(["run", str(suite)]) == 2
    out, err = capsys.readouterr()
    assert "3 cell(s) not recorded, 3 recorded this run" in err
    assert "NOT RECORDED" in out
    store = tmp_path / "results" / NAME
    recorded = sorted(p.name for p in (store / "cells").iterdir())
    assert len(recorded) == 3
    for name in recorded:
        record = (store / "cells" / name).read_text()
        assert '"status": "ok"' in record and "extra-column" not in record
        assert (store / "predictions" / name.replace(".json", ".npz")).is_file()
    assert len(list((store / "predictions").iterdir())) == 3
    assert (store / "manifest.json").is_file()
    assert not [p for p in store.rglob("*") if p.name.startswith(".")]  # no temp files

    assert main(["run", str(suite)]) == 2  # the good cells are skipped, the bad ones retried
    out, err = capsys.readouterr()
    assert "3 cell(s) not recorded, 0 recorded this run" in err
    assert sorted(p.name for p in (store / "cells").iterdir()) == recorded

    assert main(["run", str(write(tmp_path, BASE))]) == 0  # without the broken classifier
    assert "0 run, 0 failed" in capsys.readouterr().out


def test_grey_and_palette_images_are_converted_to_rgb(tmp_path: Path) -> None:
    """The image policy's other half: 8-bit modes other than RGB load as RGB (rows are in
    test_index order, which is the order jpeg_data wrote them in)."""
    from mmbench_cifar10 import Cifar10

    data = jpeg_data(tmp_path / "data", *cifar_sample())
    Image.open(data.image(1)).convert("L").save(data.image(1), format="JPEG")  # 8-bit grey
    with Image.open(data.image(1)) as im:
        assert im.mode == "L"
        grey = np.asarray(im)
    Image.open(data.image(3)).convert("P").save(data.image(3), format="PNG")  # palette, .jpg
    with Image.open(data.image(3)) as im:
        assert im.mode == "P"
        palette = np.asarray(im.convert("RGB"))
    loaded = Cifar10(data_dir=str(data.root)).load().modalities["image"]
    assert loaded.shape == (10, 32, 32, 3) and loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded[1], np.stack([grey] * 3, axis=-1))
    np.testing.assert_array_equal(loaded[3], palette)
